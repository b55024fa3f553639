/**
 * Realistic addresses for the seeded users: first.last plus a number (people share names) at one
 * of a few shared domains, weighted as an organisation's address book is (half on the main
 * domain). The same function in TypeScript (emailOf) and in SQL (the seed's INSERT … SELECT), so
 * the bench can name any user by id without reading the table.
 */
export const FIRST_NAMES = [
  'maria',
  'james',
  'anna',
  'david',
  'sofia',
  'li',
  'fatima',
  'john',
  'elena',
  'mohammed',
  'olga',
  'pierre',
  'yuki',
  'carlos',
  'amara',
  'lars',
  'priya',
  'noah',
  'ines',
  'kofi',
  'hannah',
  'mateo',
  'aiko',
  'omar',
  'lucia',
  'ivan',
  'chloe',
  'raj',
  'zoe',
  'tomas',
  'nadia',
  'erik',
  'grace',
  'hugo',
  'leila',
  'marco',
  'sara',
  'felix',
  'mei',
  'diego',
  'alice',
  'ben',
  'clara',
  'daniel',
  'emma',
  'frank',
  'greta',
  'henrik',
  'isabel',
  'jonas',
  'kira',
  'leon',
  'mila',
  'nils',
  'oscar',
  'paula',
  'quinn',
  'rosa',
  'samuel',
  'tara',
  'ulla',
  'victor',
  'wendy',
  'xavier',
] as const;

export const LAST_NAMES = [
  'garcia',
  'smith',
  'muller',
  'rossi',
  'nguyen',
  'kowalski',
  'silva',
  'tanaka',
  'martin',
  'johnson',
  'schmidt',
  'dubois',
  'ivanova',
  'khan',
  'lopez',
  'brown',
  'wang',
  'jensen',
  'fischer',
  'moreau',
  'okafor',
  'patel',
  'santos',
  'berg',
  'novak',
  'costa',
  'weber',
  'larsen',
  'kim',
  'hansen',
  'ali',
  'meyer',
  'fernandez',
  'wagner',
  'lindqvist',
  'horvat',
  'popescu',
  'jones',
  'becker',
  'sato',
  'ramos',
  'hoffmann',
  'nielsen',
  'mendes',
  'yilmaz',
  'kaur',
  'schulz',
  'bernard',
  'petrov',
  'andersen',
  'chen',
  'murphy',
  'dupont',
  'keller',
  'alves',
  'suzuki',
  'nowak',
  'eriksson',
  'walker',
  'romano',
  'koch',
  'richter',
  'li',
  'zhang',
] as const;

/** Ten slots: five on the main domain, two on the second, one each on three more. */
export const DOMAINS = [
  'example.com',
  'example.com',
  'example.com',
  'example.com',
  'example.com',
  'example.org',
  'example.org',
  'mail.example',
  'staff.example',
  'example.net',
] as const;

const pick = <T>(list: readonly T[], n: number): T => list[n % list.length]!;

export function personEmail(id: number): string {
  return `${pick(FIRST_NAMES, id)}.${pick(LAST_NAMES, Math.floor(id / FIRST_NAMES.length))}${id}@${pick(DOMAINS, Math.floor(id / 7))}`;
}

/** The same address in SQL, for a row id `g` (a bigint). */
export function personEmailSql(g: string): string {
  const array = (list: readonly string[]) => `ARRAY[${list.map((w) => `'${w}'`).join(',')}]`;
  return `(${array(FIRST_NAMES)})[1 + ${g} % ${FIRST_NAMES.length}] || '.' ||
    (${array(LAST_NAMES)})[1 + (${g} / ${FIRST_NAMES.length}) % ${LAST_NAMES.length}] || ${g} || '@' ||
    (${array(DOMAINS)})[1 + (${g} / 7) % ${DOMAINS.length}]`;
}

/** What an admin types to find a person: their first and last name, as the address starts. */
export function nameSearch(id: number): string {
  return personEmail(id).replace(/\d+@.*$/, '');
}
