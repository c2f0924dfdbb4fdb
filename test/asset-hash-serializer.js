// Jest snapshot serializer: replaces asset hashes (64 hex characters, as in
// S3 keys and asset paths) with a placeholder, so a snapshot changes only when
// a template does, not when an asset's bytes do.
const HASH = /[0-9a-f]{64}/;
const HASHES = /[0-9a-f]{64}/g;

module.exports = {
  test(value) {
    return typeof value === 'string' && HASH.test(value);
  },
  serialize(value, config, indentation, depth, refs, printer) {
    return printer(value.replace(HASHES, '[ASSET_HASH]'), config, indentation, depth, refs);
  },
};
