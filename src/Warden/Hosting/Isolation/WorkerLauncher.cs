namespace Warden.Hosting.Isolation;

/// <summary>
/// The first program of every locked-down worker: a fixed bash script (no text of anyone's is ever
/// spliced into it; paths arrive as arguments) that runs as the host's user and, before the worker
/// exists, joins the worker's cgroups — so every process and thread it will make is inside, with no
/// window for a fork to escape — closes every descriptor above stderr that the host itself may have
/// inherited without close-on-exec (no redirection around that loop: bash would park stderr on a
/// high descriptor the loop then closes), turns core dumps off, makes the worker the OOM killer's first choice (oom_score_adj 1000,
/// which it cannot lower: that needs a capability), and then becomes the next program
/// (setpriv → bwrap → dotnet).
/// </summary>
internal static class WorkerLauncher
{
    public const string Shell = "/bin/bash";

    /// <summary>The launcher's own exit code when it could not join a cgroup.</summary>
    public const int CgroupJoinFailed = 90;

    public const string Script = """
        while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
          printf '%s\n' "$$" > "$1" || exit 90
          shift
        done
        shift
        for fd in /proc/$$/fd/*; do
          fd=${fd##*/}
          case "$fd" in 0|1|2|*[!0-9]*) continue ;; esac
          if [ -e "/proc/$$/fd/$fd" ]; then eval "exec $fd>&-"; fi
        done
        ulimit -c 0
        printf '1000\n' > /proc/self/oom_score_adj 2>/dev/null || true
        exec "$@"
        """;

    /// <summary>bash -c SCRIPT warden-launch PROCS... -- COMMAND...</summary>
    public static IEnumerable<string> Arguments(IEnumerable<string> cgroupProcsFiles, IEnumerable<string> command) =>
        new[] { "-c", Script, "warden-launch" }.Concat(cgroupProcsFiles).Append("--").Concat(command);
}
