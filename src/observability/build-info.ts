import { readFileSync } from 'node:fs';

export interface BuildInfo {
  version: string;
  commit: string;
  buildTime: string;
}

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** Version from package.json; commit and build time from the build environment when an image sets them. */
export function buildInfo(commit = 'none', buildTime = 'unknown'): BuildInfo {
  return { version: packageJson.version, commit, buildTime };
}
