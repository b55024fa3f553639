/** The CSP directives every response must carry (README, "Security model"; checklist #45). */
export const REQUIRED_CSP_DIRECTIVES = [
  "default-src 'self'",
  "script-src 'none'",
  "style-src 'self'",
  "img-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
  "base-uri 'none'",
] as const;
