import { AppError, ValidationError } from '../platform/errors.js';

// The errors of the expression language. A mistake found when an expression is checked (saved) is the caller's:
// 400 `invalid_expression`, pointing at the place and saying what exists there. An evaluation that runs past its
// budget is stopped and reported as 422 `expression_too_costly`; one that fails on the data it met (an absent
// value read without `has()`, an index past the end) as 422 `evaluation_failed`.

export interface ExpressionPosition {
  /** 0-based offset into the expression, in UTF-16 code units (what JavaScript's string indexes count). */
  offset: number;
  /** 1-based line and column. */
  line: number;
  column: number;
}

export function positionAt(source: string, offset: number): ExpressionPosition {
  const o = Math.max(0, Math.min(offset, source.length));
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < o; i++) {
    if (source[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { offset: o, line, column: o - lineStart + 1 };
}

export interface ExpressionErrorDetails {
  position: ExpressionPosition;
  /** The problem in words (without the position). */
  message: string;
  /** What exists at that position: the fields of the value being accessed, the variables, the severities... */
  available: string[];
  /** The checker's code: unknown_field, unknown_variable, type_mismatch, syntax_error... */
  reason: string;
}

export class ExpressionError extends ValidationError {
  override readonly code = 'invalid_expression';
  override readonly details: Record<string, unknown>;
  constructor(readonly info: ExpressionErrorDetails) {
    super(`${info.message} (line ${info.position.line}, column ${info.position.column})`);
    this.details = { ...info };
  }
}

/** Evaluation was stopped: over the time budget, the result-size limit, or what the context loads. */
export class ExpressionCostError extends AppError {
  constructor(message: string, details: { limit: 'time' | 'result_size' | 'context'; [k: string]: unknown }) {
    super(422, 'expression_too_costly', message, details);
  }
}

/** The expression was valid but failed on this incident's data. */
export class ExpressionEvaluationError extends AppError {
  constructor(message: string, details: { position: ExpressionPosition | null; reason: string }) {
    super(422, 'evaluation_failed', message, details);
  }
}
