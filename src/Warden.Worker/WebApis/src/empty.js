// Stands in for @exodus/bytes/encoding.js (legacy multi-byte decoders), left out of the bundle.
export {};
