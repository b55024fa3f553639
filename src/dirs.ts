import fs from 'node:fs';
import path from 'node:path';

/**
 * The project root (the folder holding package.json), found from this file so that the same code
 * works from src/ under tsx and from dist/src/ after a build.
 */
function findRoot(start: string): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

export const ROOT = findRoot(import.meta.dirname);
export const VIEWS_DIR = path.join(ROOT, 'views');
export const PUBLIC_DIR = path.join(ROOT, 'public');
/** Compiled migrations sit beside the compiled sources; under tsx, beside src/. */
export const MIGRATIONS_DIR = path.join(import.meta.dirname, '..', 'migrations');
