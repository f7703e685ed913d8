/** OpenSSL's certificate verification results, as Node names them in `error.code`. */
const VERIFICATION_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  // Node's own check of the names in the certificate.
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Why TLS failed in a way that trying again will not change, in words, or undefined for any other error:
 * the server's certificate did not verify, or the server refused ours (it wants one, or does not trust
 * it). For a connection to the broker, Redis or Postgres alike.
 */
export function tlsFailure(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return undefined;
  if (VERIFICATION_CODES.has(code)) return error.message;
  // An alert from the server: OpenSSL's message has its reason between the function and the file names,
  // e.g. "…:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../ssl/record/rec_layer_s3.c:…".
  if (code.startsWith('ERR_SSL_'))
    return /SSL routines:[^:]*:([^:]+)/.exec(error.message)?.[1] ?? error.message;
  return undefined;
}
