// esbuild `inject`: free references to TextEncoder/TextDecoder in bundled libraries bind to these.
export { TextEncoder, TextDecoder } from '@exodus/bytes/encoding-lite.js';
