// WorkOS webhook signatures with the real `@workos-inc/node` (tests/it/workos_events.rs):
// `webhooks.computeSignature` signs, `webhooks.constructEvent` (default tolerance, 180 s)
// judges each delivery the Rust test also posts to the crate's webhook route.
//
// Usage: echo '{"sign":[{"timestamp","payload","secret"}],
//               "verify":[{"header","payload","secret"}]}' | node workos_webhook.mjs
//
// Prints one JSON line: {"signatures":["<hex>", ...], "verdicts":[{"accepted":bool,"error"}]}.
import { WorkOS } from '@workos-inc/node';

let text = '';
for await (const chunk of process.stdin) text += chunk;
const input = JSON.parse(text);
const workos = new WorkOS('sk_test_webhooks_only');

const signatures = [];
for (const { timestamp, payload, secret } of input.sign ?? []) {
  signatures.push(await workos.webhooks.computeSignature(timestamp, payload, secret));
}

const verdicts = [];
for (const { header, payload, secret } of input.verify ?? []) {
  try {
    const event = await workos.webhooks.constructEvent({ payload, sigHeader: header, secret });
    verdicts.push({ accepted: true, event: event.event, id: event.id });
  } catch (error) {
    verdicts.push({ accepted: false, error: String(error?.message ?? error) });
  }
}

console.log(JSON.stringify({ signatures, verdicts }));
