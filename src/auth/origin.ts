/** Where an attempt or a change came from, as the audit log and the limits record it. */
export interface RequestOrigin {
  ip: string;
  userAgent: string | null;
  /** Set when no browser is involved: an operator's command (see command-line.ts). */
  via?: 'command line';
}
