// Checks the document citations in source comments: `docs/<file>.md §N[.M]` must name a file of
// docs/ and a section that file has; the documents' names from before they were in the repository
// (written upper-case, outside docs/) must not be cited at all. Used by doc-citations.spec.ts.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/** The names the documents had outside the repository, and what replaced each. */
export const OLD_NAMES: ReadonlyMap<string, string> = new Map(
  [
    ['PROTOCOL', 'docs/protocol.md'],
    ['UPSTREAMS', 'docs/providers.md'],
    ['TOOLCHAIN', 'docs/toolchain.md'],
  ].map(([stem, now]) => [`${stem}.md`, now]),
);

/** One citation problem, for the report. */
export interface CitationProblem {
  file: string;
  line: number;
  citation: string;
  problem: string;
}

/**
 * The section numbers a markdown document defines, as the sources cite them:
 * - a heading `## 3. Session lifecycle` or `### 1.2 Client → server events` → `3`, `1.2`;
 * - in a `## N.` section without numbered subheadings, each numbered list item `M.` at the start
 *   of a line → `N.M` (docs/protocol.md §3.1–§3.5 are the items of §3).
 * Lines inside ``` fences are skipped.
 */
export function sectionsOf(markdown: string): Set<string> {
  const sections = new Set<string>();
  const items = new Map<string, string[]>();
  const withSubheadings = new Set<string>();
  let current: string | undefined;
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) {
      fenced = !fenced;
      continue;
    }
    if (fenced) continue;
    const heading = /^(#{2,6})\s+(\d+(?:\.\d+)*)\.?\s/.exec(line);
    if (heading) {
      const id = heading[2];
      sections.add(id);
      if (heading[1] === '##') current = id;
      else if (current !== undefined && id.startsWith(`${current}.`)) withSubheadings.add(current);
      continue;
    }
    if (/^#/.test(line)) {
      if (/^##\s/.test(line)) current = undefined;
      continue;
    }
    const item = /^(\d+)\.\s/.exec(line);
    if (item && current !== undefined) items.set(current, [...(items.get(current) ?? []), item[1]]);
  }
  for (const [section, numbers] of items) {
    if (!withSubheadings.has(section)) for (const n of numbers) sections.add(`${section}.${n}`);
  }
  return sections;
}

/** Every comment of a TypeScript file, with the line it starts on (1-based). */
export function commentsOf(fileName: string, text: string): { line: number; text: string }[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const seen = new Set<number>();
  const comments: { line: number; text: string }[] = [];
  const collect = (ranges: readonly ts.CommentRange[] | undefined) => {
    for (const r of ranges ?? []) {
      if (seen.has(r.pos)) continue;
      seen.add(r.pos);
      comments.push({ line: source.getLineAndCharacterOfPosition(r.pos).line + 1, text: text.slice(r.pos, r.end) });
    }
  };
  const visit = (node: ts.Node) => {
    collect(ts.getLeadingCommentRanges(text, node.getFullStart()));
    collect(ts.getTrailingCommentRanges(text, node.getEnd()));
    for (const child of node.getChildren(source)) visit(child);
  };
  visit(source);
  return comments.sort((a, b) => a.line - b.line);
}

const SECTION = String.raw`§\d+(?:\.\d+)*`;
/** `docs/<file>.md`, then optionally its sections: `§3`, `§3.4`, `§3 and §5`, `§1.2, §1.3`, `§3–§6`, `§2, checklist §6`. */
const CITATION = new RegExp(
  String.raw`docs/([\w.-]+?\.md)((?:\s*${SECTION})(?:\s*(?:,|\+|–|—|-|and|or|to)\s*(?:[a-z]+\s+)?${SECTION})*)?`,
  'g',
);
const OLD_CITATION = new RegExp(
  String.raw`(?<![\w/.-])(${[...OLD_NAMES.keys()].map((n) => n.replace('.', String.raw`\.`)).join('|')})(?:\s*${SECTION})?`,
  'g',
);

/** The problems of the citations in one comment. `docs` maps a docs file name to its sections. */
export function checkComment(
  comment: string,
  docs: ReadonlyMap<string, Set<string>>,
): { citation: string; problem: string; index: number }[] {
  const problems: { citation: string; problem: string; index: number }[] = [];
  for (const m of comment.matchAll(OLD_CITATION)) {
    problems.push({ citation: m[0], index: m.index, problem: `cites ${m[1]} by its old name: the document is ${OLD_NAMES.get(m[1])}` });
  }
  for (const m of comment.matchAll(CITATION)) {
    const [citation, file, sectionList] = m;
    const sections = docs.get(file);
    if (!sections) {
      problems.push({ citation, index: m.index, problem: `docs/${file} does not exist` });
      continue;
    }
    for (const s of (sectionList ?? '').match(/§\d+(?:\.\d+)*/g) ?? []) {
      if (!sections.has(s.slice(1))) problems.push({ citation, index: m.index, problem: `docs/${file} has no section ${s}` });
    }
  }
  return problems.sort((a, b) => a.index - b.index);
}

/** The sections of every markdown file of `docsDir`, by file name. */
export function loadDocs(docsDir: string): Map<string, Set<string>> {
  const docs = new Map<string, Set<string>>();
  if (!existsSync(docsDir)) return docs;
  for (const name of readdirSync(docsDir)) {
    if (name.endsWith('.md')) docs.set(name, sectionsOf(readFileSync(join(docsDir, name), 'utf8')));
  }
  return docs;
}

/** Every `.ts` file under `dir`, recursively, sorted. */
export function tsFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Checks the comments of every `.ts` file under `srcRoot` against the documents of `docsDir`. */
export function checkCitations(srcRoot: string, docsDir: string): { files: number; citations: number; problems: CitationProblem[] } {
  const docs = loadDocs(docsDir);
  const problems: CitationProblem[] = [];
  let citations = 0;
  const files = tsFilesUnder(srcRoot);
  for (const path of files) {
    for (const comment of commentsOf(path, readFileSync(path, 'utf8'))) {
      citations += [...comment.text.matchAll(CITATION)].length;
      for (const { citation, problem, index } of checkComment(comment.text, docs)) {
        const line = comment.line + (comment.text.slice(0, index).match(/\n/g)?.length ?? 0);
        problems.push({ file: relative(srcRoot, path), line, citation, problem });
      }
    }
  }
  return { files: files.length, citations, problems };
}
