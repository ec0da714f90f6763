/** Where a parser found a name in a packet (reused: parsers write into it, no allocation). */
export class Span {
  start = 0;
  len = 0;
}

/** clientHelloSni / httpHost outcomes */
export const TLS_NONE = 0; // not a ClientHello
export const TLS_SNI = 1; // found: see the span
export const TLS_NO_SNI = 2; // a whole ClientHello without a server name
export const TLS_PARTIAL = 3; // a ClientHello whose name may be in bytes not at hand

export const HTTP_NONE = 0; // not an HTTP/1.x request
export const HTTP_HOST = 1; // found: see the span
export const HTTP_PARTIAL = 2; // a request whose headers go on beyond these bytes
