/**
 * The alert sink variants of the run configuration (`alerts.sinks[]`), one strict object per `type`.
 * Secrets (webhook URLs, passwords, headers) are recognised by key name in redact.ts: name new secret
 * keys accordingly. Add a sink by adding its schema to {@link SINK_VARIANTS}.
 */
import { z } from 'zod';
import { httpUrl, text } from './leaves.js';

const ConsoleSinkSchema = z.strictObject({
  type: z.literal('console'),
  name: text('a sink name').optional(),
});

const FileSinkSchema = z.strictObject({
  type: z.literal('file'),
  name: text('a sink name').optional(),
  path: text('a file path'),
});

const WebhookSinkSchema = z.strictObject({
  type: z.literal('webhook'),
  name: text('a sink name').optional(),
  /** Secret: Slack-style webhook URLs carry their credential in the path. */
  url: httpUrl(),
  /** Extra request headers (typically an authorization header): every value is treated as secret. */
  headers: z.record(z.string(), z.string({ error: 'must be a string' })).optional(),
});

/** Every sink variant; SNS, Slack and email sinks join this list. */
export const SINK_VARIANTS = [ConsoleSinkSchema, FileSinkSchema, WebhookSinkSchema] as const;
