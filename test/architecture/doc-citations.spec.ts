// Comments in src/ cite the documents of docs/ by section (`docs/protocol.md §3.4`). Every citation
// must name a file of docs/ and a section it has, so a reader of the published package can follow
// it; the documents' names from before they were in the repository must not appear.
// DOC_CITATIONS_SRC (a directory of .ts files) and DOC_CITATIONS_DOCS (a docs directory) point the
// check elsewhere, e.g. at a copy of src/ with a rewrite applied.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { checkCitations, checkComment, commentsOf, loadDocs, OLD_NAMES, sectionsOf } from './doc-citations.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SRC = process.env.DOC_CITATIONS_SRC ?? join(ROOT, 'src');
const DOCS = process.env.DOC_CITATIONS_DOCS ?? join(ROOT, 'docs');
// Spelled in pieces so that a rewrite of the old names over test/ leaves this file alone.
const OLD_PROTOCOL = ['PROTOCOL', 'md'].join('.');

describe('document citations in source comments', () => {
  it(`every docs/<file>.md §N[.M] cited in ${SRC} exists, and no document is cited by its old name`, () => {
    const { files, citations, problems } = checkCitations(SRC, DOCS);
    expect(files).toBeGreaterThan(0);
    const report = problems.map((p) => `  ${p.file}:${p.line}  ${p.citation}  — ${p.problem}`).join('\n');
    expect(report).toBe('');
    expect(citations).toBeGreaterThan(0);
  });

  describe('the documents', () => {
    const docs = loadDocs(DOCS);

    it('are there, with the sections the sources cite', () => {
      expect([...docs.keys()]).toEqual(expect.arrayContaining(['protocol.md', 'providers.md', 'toolchain.md']));
      expect(OLD_NAMES.get(OLD_PROTOCOL)).toBe('docs/protocol.md');
      // protocol.md: `## N.` headings, and the numbered items of §3 as §3.1–§3.5.
      expect([...(docs.get('protocol.md') ?? [])].sort()).toEqual(['1', '2', '2.1', '2.2', '2.3', '3', '3.1', '3.2', '3.3', '3.4', '3.5', '4', '5', '6']);
      // providers.md: `## N.` and `### N.M` headings.
      expect(docs.get('providers.md')).toEqual(
        new Set(['0', '1', '1.1', '1.2', '1.3', '1.4', '1.5', '2', '2.1', '2.2', '2.3', '2.4', '2.5', '2.6', '3', '3.1', '3.2', '3.3', '3.4', '3.5', '4', '5', '6']),
      );
    });

    it('link each other by their names in docs/, never by the old ones', () => {
      for (const name of docs.keys()) {
        const text = readFileSync(join(DOCS, name), 'utf8');
        const links = [...text.matchAll(/\]\(([\w.-]+\.md)\)/g)].map((m) => m[1]);
        expect({ name, missing: links.filter((l) => !docs.has(l)) }).toEqual({ name, missing: [] });
        expect({ name, old: [...OLD_NAMES.keys()].filter((o) => text.includes(o)) }).toEqual({ name, old: [] });
      }
    });
  });

  describe('the check itself', () => {
    const docs = new Map([
      ['protocol.md', sectionsOf('# T\n\n## 1. Mint\n\ntext\n1. an item of §1\n\n## 3. Lifecycle\n\n1. first\n2. second\n\n```\n3. fenced\n```\n')],
      ['providers.md', sectionsOf('# T\n\n## 1. OpenAI\n\n1. not an item: §1 has subheadings\n\n### 1.2 Client events\n\n## 2. xAI\n')],
      ['toolchain.md', sectionsOf('# T\n\n## ESM\n')],
    ]);

    it('parses `## N.` and `### N.M` headings, and numbered items of sections without subheadings', () => {
      expect(docs.get('protocol.md')).toEqual(new Set(['1', '1.1', '3', '3.1', '3.2']));
      expect(docs.get('providers.md')).toEqual(new Set(['1', '1.2', '2']));
    });

    it('accepts existing sections, in every list form the sources use', () => {
      for (const ok of [
        '// docs/protocol.md §3.1: anything but…',
        '// (docs/protocol.md §3)',
        '// docs/protocol.md §1 and §3, docs/providers.md §1.2, §2',
        '// docs/protocol.md §1–§3; docs/providers.md §1 + §2',
        '// docs/providers.md §2, checklist §1.2',
        '/** See docs/toolchain.md (cited without a section). */',
      ]) {
        expect({ ok, problems: checkComment(ok, docs) }).toEqual({ ok, problems: [] });
      }
    });

    it('reports missing sections, missing files and old names', () => {
      const problems = (c: string) => checkComment(c, docs).map((p) => p.problem);
      expect(problems('// docs/protocol.md §3.4')).toEqual(['docs/protocol.md has no section §3.4']);
      expect(problems('// docs/protocol.md §3 and §7')).toEqual(['docs/protocol.md has no section §7']);
      expect(problems('// docs/protocol.md §1–§2')).toEqual(['docs/protocol.md has no section §2']);
      expect(problems('// docs/providers.md §1.3')).toEqual(['docs/providers.md has no section §1.3']);
      expect(problems('// docs/upstreams.md §1')).toEqual(['docs/upstreams.md does not exist']);
      expect(problems(`// (${OLD_PROTOCOL} §5)`)).toEqual([`cites ${OLD_PROTOCOL} by its old name: the document is docs/protocol.md`]);
    });

    it('reads comments only, not strings or code', () => {
      const text = [
        `const a = '${OLD_PROTOCOL} §1'; // docs/protocol.md §1`,
        '/** docs/protocol.md §3.1 */',
        'function f() {',
        '  return `docs/protocol.md §9`; /* docs/providers.md §1.2 */',
        '  // docs/protocol.md §3.2 before a closing brace',
        '}',
      ].join('\n');
      expect(commentsOf('x.ts', text).map((c) => [c.line, c.text])).toEqual([
        [1, '// docs/protocol.md §1'],
        [2, '/** docs/protocol.md §3.1 */'],
        [4, '/* docs/providers.md §1.2 */'],
        [5, '// docs/protocol.md §3.2 before a closing brace'],
      ]);
    });
  });
});
