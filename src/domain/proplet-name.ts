const ADJECTIVES = [
  'agile', 'bold', 'brave', 'bright', 'calm', 'clever', 'cosmic', 'crisp', 'daring', 'eager',
  'fearless', 'gentle', 'glowing', 'happy', 'humble', 'jolly', 'keen', 'lively', 'lucid', 'merry',
  'mighty', 'nimble', 'noble', 'patient', 'polite', 'quick', 'quiet', 'radiant', 'serene', 'sharp',
  'steady', 'sunny', 'swift', 'tidy', 'upbeat', 'vivid', 'warm', 'wise', 'witty', 'zealous',
] as const;

const SURNAMES = [
  'babbage', 'bohr', 'curie', 'darwin', 'dijkstra', 'einstein', 'euler', 'faraday', 'fermi', 'feynman',
  'gauss', 'goodall', 'hamilton', 'hopper', 'hypatia', 'johnson', 'kepler', 'knuth', 'lamarr', 'lovelace',
  'maxwell', 'meitner', 'mirzakhani', 'newton', 'noether', 'pascal', 'planck', 'raman', 'ramanujan', 'ritchie',
  'sagan', 'shannon', 'somerville', 'tesla', 'thompson', 'turing', 'volta', 'wozniak', 'wright', 'yalow',
] as const;

/** A human-style name such as "swift-lovelace", given to a proplet when it first registers. */
export function generatePropletName(random: () => number = Math.random): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] ?? list[0]!;
  return `${pick(ADJECTIVES)}-${pick(SURNAMES)}`;
}
