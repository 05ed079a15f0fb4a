/**
 * is_complete: whether a cell's code can run as is, needs more lines (with the indent for the next
 * line), or is invalid — decided with TypeScript's own scanner and parser.
 */
import ts from "typescript";

export interface IsCompleteReply {
  [key: string]: unknown;
  status: "complete" | "incomplete" | "invalid";
  indent?: string;
}

const OPEN: Partial<Record<ts.SyntaxKind, ts.SyntaxKind>> = {
  [ts.SyntaxKind.OpenBraceToken]: ts.SyntaxKind.CloseBraceToken,
  [ts.SyntaxKind.OpenParenToken]: ts.SyntaxKind.CloseParenToken,
  [ts.SyntaxKind.OpenBracketToken]: ts.SyntaxKind.CloseBracketToken,
};

export function isComplete(code: string): IsCompleteReply {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, false, ts.LanguageVariant.Standard, code);
  const stack: ts.SyntaxKind[] = [];
  let unterminated = false;
  let last: ts.SyntaxKind = ts.SyntaxKind.Unknown;
  scanner.setOnError(() => {
    // Errors the scanner reports on an unterminated literal or comment mean "keep typing".
    const token = scanner.getToken();
    if (
      token === ts.SyntaxKind.StringLiteral ||
      token === ts.SyntaxKind.NoSubstitutionTemplateLiteral ||
      token === ts.SyntaxKind.TemplateHead ||
      token === ts.SyntaxKind.MultiLineCommentTrivia ||
      scanner.getTokenEnd() >= code.length
    ) {
      unterminated = true;
    }
  });
  for (let token = scanner.scan(); token !== ts.SyntaxKind.EndOfFileToken; token = scanner.scan()) {
    if (token === ts.SyntaxKind.TemplateHead) stack.push(ts.SyntaxKind.TemplateHead);
    const closer = OPEN[token];
    if (closer) stack.push(closer);
    else if (
      token === ts.SyntaxKind.CloseBraceToken &&
      stack[stack.length - 1] === ts.SyntaxKind.TemplateHead
    ) {
      // `}` closing a template substitution: continue the template.
      const next = scanner.reScanTemplateToken(false);
      if (next === ts.SyntaxKind.TemplateTail) stack.pop();
      else if (next !== ts.SyntaxKind.TemplateMiddle) unterminated = true;
    } else if (
      token === ts.SyntaxKind.CloseBraceToken ||
      token === ts.SyntaxKind.CloseParenToken ||
      token === ts.SyntaxKind.CloseBracketToken
    ) {
      if (stack.pop() !== token) return { status: "invalid" };
    }
    if (token !== ts.SyntaxKind.NewLineTrivia && token !== ts.SyntaxKind.WhitespaceTrivia) last = token;
  }
  if (unterminated || stack.length > 0) return { status: "incomplete", indent: "  ".repeat(stack.length) };
  // A line ending in a binary operator, a comma or `=>` continues on the next line.
  if (last >= ts.SyntaxKind.FirstBinaryOperator && last <= ts.SyntaxKind.LastBinaryOperator)
    return { status: "incomplete", indent: "" };
  if (last === ts.SyntaxKind.CommaToken || last === ts.SyntaxKind.EqualsGreaterThanToken)
    return { status: "incomplete", indent: "" };
  const out = ts.transpileModule(code, {
    reportDiagnostics: true,
    compilerOptions: { target: ts.ScriptTarget.ES2022 },
  });
  if ((out.diagnostics ?? []).some((d) => d.category === ts.DiagnosticCategory.Error))
    return { status: "invalid" };
  return { status: "complete" };
}
