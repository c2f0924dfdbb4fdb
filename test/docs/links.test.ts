import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

function filesUnder(dir: string, ext: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : filesUnder(rel, ext);
    return e.name.endsWith(ext) ? [rel] : [];
  });
}

describe('documentation links', () => {
  test('every docs/runbooks/*.md that the code names in a message exists', () => {
    const sources = [...filesUnder('lib', '.ts'), ...filesUnder('cli', '.ts'), ...filesUnder('lambda', '.ts')];
    const named = new Set(
      sources.flatMap((f) =>
        [...fs.readFileSync(path.join(ROOT, f), 'utf8').matchAll(/docs\/runbooks\/[a-z-]+\.md/g)].map((m) => m[0]),
      ),
    );
    expect([...named].filter((p) => p.includes('aurora-upgrade') || p.includes('deploying-during'))).toHaveLength(2);
    expect([...named].filter((p) => !fs.existsSync(path.join(ROOT, p)))).toEqual([]);
  });

  test('every relative link of the README, cli/README.md and the runbooks points at a file that exists', () => {
    const docs = ['README.md', 'cli/README.md', 'lambda/README.md', ...filesUnder('docs/runbooks', '.md')];
    const broken = docs.flatMap((doc) =>
      [...fs.readFileSync(path.join(ROOT, doc), 'utf8').matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)]
        .map((m) => m[1]!)
        .filter((target) => !/^[a-z]+:/.test(target))
        .filter((target) => !fs.existsSync(path.join(ROOT, path.dirname(doc), target)))
        .map((target) => `${doc} -> ${target}`),
    );
    expect(broken).toEqual([]);
  });
});
