// Post-processors of tokenizer.json: where BOS/EOS ids go around an encoded sequence.
import { badField, unsupported } from '../errors.js';

/** Ids to put before and after a single encoded sequence. */
export interface PostProcessor {
  before: number[];
  after: number[];
}

const NONE: PostProcessor = { before: [], after: [] };
const SUPPORTED = ['TemplateProcessing', 'ByteLevel', 'BertProcessing', 'RobertaProcessing', 'Sequence'];

function template(c: Record<string, unknown>, field: string): PostProcessor {
  if (!Array.isArray(c.single)) badField(`${field}.single`, 'an array of template pieces', c.single);
  const specials = (c.special_tokens ?? {}) as Record<string, { ids?: number[] }>;
  const out: PostProcessor = { before: [], after: [] };
  let seen = false;
  (c.single as Record<string, { id: string }>[]).forEach((item, i) => {
    if (item.Sequence !== undefined) {
      seen = true;
      return;
    }
    const name = item.SpecialToken?.id;
    const ids = Object.hasOwn(specials, name) ? specials[name].ids : undefined;
    if (!Array.isArray(ids)) badField(`${field}.special_tokens[${JSON.stringify(name)}].ids`, `ids for single[${i}]`, ids);
    (seen ? out.after : out.before).push(...ids);
  });
  return out;
}

function pairTokens(c: Record<string, unknown>, field: string): PostProcessor {
  const cls = c.cls as [string, number] | undefined;
  const sep = c.sep as [string, number] | undefined;
  if (!Array.isArray(cls) || !Array.isArray(sep)) badField(`${field}.cls/sep`, '[token, id] pairs', c.cls);
  return { before: [cls![1]], after: [sep![1]] };
}

/** Builds the post-processor of tokenizer.json (only what changes ids of a single sequence). */
export function buildPostProcessor(cfg: unknown, field = 'post_processor'): PostProcessor {
  if (cfg === null || cfg === undefined) return NONE;
  const c = cfg as Record<string, unknown>;
  switch (c.type) {
    case 'TemplateProcessing':
      return template(c, field);
    case 'ByteLevel':
      return NONE; // changes offsets only (trim_offsets), not ids
    case 'BertProcessing':
    case 'RobertaProcessing':
      return pairTokens(c, field);
    case 'Sequence': {
      if (!Array.isArray(c.processors)) badField(`${field}.processors`, 'an array', c.processors);
      const parts = (c.processors as unknown[]).map((p, i) => buildPostProcessor(p, `${field}.processors[${i}]`));
      return { before: parts.flatMap((p) => p.before), after: parts.flatMap((p) => p.after) };
    }
    default:
      return unsupported(`${field}.type`, c.type, SUPPORTED);
  }
}
