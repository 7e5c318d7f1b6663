-- wrk script: the tiny workload of the benchmarks, POSTed to warden serve.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{ "code": "JSON.stringify({ sum: input.a + input.b })", "input": { "a": 1, "b": 2 } }'
