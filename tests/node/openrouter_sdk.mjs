// Drives OpenRouter's own TypeScript SDK (@openrouter/sdk, pinned in package-lock.json)
// against a running `parley serve`, so that a shape the SDK's zod schemas refuse fails a
// test here rather than a user's program.
//
//     node tests/node/openrouter_sdk.mjs <serverURL> [scenario ...]   (all when none named)
//
// One JSON line per scenario on stdout:
//     {"scenario": ..., "ok": true, ...the fields the test checks}
//     {"scenario": ..., "ok": false, "error": <class name>, "message", "status"?, "issues"?}
// A scenario's failure is reported, not thrown, so every scenario runs and the test sees
// all of them at once; the exit status is 0 unless the script itself is misused.

import { OpenRouter } from "@openrouter/sdk";

const PANEL = ["vendor/a", "vendor/b"];
const USER = [{ role: "user", content: "Why is the sky blue?" }];

const [serverURL, ...wanted] = process.argv.slice(2);
if (!serverURL) {
  console.error("usage: node openrouter_sdk.mjs <serverURL> [scenario ...]");
  process.exit(2);
}

// The default retry policy re-sends a 5xx for up to an hour (backoff, maxElapsedTime
// 3600000): a gateway bug would hang the test instead of failing it.
const or = new OpenRouter({ apiKey: "unused", serverURL, retryConfig: { strategy: "none" } });

/** Every chunk or event of a stream, read to the end. A chat chunk the SDK refuses throws
 * here (a ZodError); a Responses event it refuses comes as {type: "UNKNOWN", raw}. */
async function all(stream) {
  const items = [];
  for await (const item of stream) items.push(item);
  return items;
}

/** What a test checks of a whole chat completion (the SDK's camelCase names). */
function chatFields(r) {
  const [choice] = r.choices;
  return {
    id: r.id,
    model: r.model,
    content: choice.message.content,
    finishReason: choice.finishReason,
    systemFingerprint: r.systemFingerprint,
    totalTokens: r.usage?.totalTokens ?? null,
  };
}

/** What a test checks of a chat stream: the text, the finish, the usage, and that every
 * chunk shared one id. */
function streamFields(chunks) {
  return {
    chunks: chunks.length,
    ids: [...new Set(chunks.map((c) => c.id))].length,
    content: chunks.map((c) => c.choices[0]?.delta?.content ?? "").join(""),
    finishReasons: chunks.flatMap((c) => c.choices.map((x) => x.finishReason)).filter((x) => x),
    totalTokens: chunks.find((c) => c.usage)?.usage.totalTokens ?? null,
    errors: chunks.filter((c) => c.error).map((c) => c.error),
  };
}

/** The output items by type, and the fusion item's result (or UNKNOWN: the SDK's word for
 * an item whose own schema it refused). */
function responseFields(r) {
  const fusion = r.output.find((o) => o.type === "openrouter:fusion");
  return {
    id: r.id,
    status: r.status,
    model: r.model,
    outputTypes: r.output.map((o) => o.type),
    unknown: r.output.filter((o) => o.isUnknown).map((o) => o.raw),
    outputText: r.outputText ?? null,
    fusionStatus: fusion?.status ?? null,
    panel: fusion?.responses?.map((x) => x.model) ?? null,
    failedModels: fusion?.failedModels ?? null,
    failureReason: fusion?.failureReason ?? null,
    analysisKeys: fusion?.analysis ? Object.keys(fusion.analysis).sort() : null,
    totalTokens: r.usage?.totalTokens ?? null,
  };
}

// A client function beside a server tool, so that the gateway's own loop runs the request
// and hands the call back (vendor/weather calls get_weather at once).
const WEATHER = {
  name: "get_weather",
  description: "The weather in a city.",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
const CHAT_TOOLS = [{ type: "openrouter:fusion" }, { type: "function", function: WEATHER }];
const RESPONSES_TOOLS = [{ type: "openrouter:fusion" }, { type: "function", ...WEATHER }];

/** The client function calls of a chat answer, whole or streamed. */
const callsOf = (calls) => (calls ?? []).map((c) => ({ id: c.id, type: c.type, ...c.function }));

const chatSend = (chatRequest, options) => or.chat.send({ chatRequest }, options);
const respond = (responsesRequest) => or.beta.responses.send({ responsesRequest });

const SCENARIOS = {
  // A plain model: the gateway passes the request through to the upstream.
  chat: async () => chatFields(await chatSend({ model: "vendor/a", messages: USER })),
  chat_stream: async () =>
    streamFields(await all(await chatSend({ model: "vendor/a", messages: USER, stream: true }))),

  // Fusion, each way in; the gateway answers itself.
  alias: async () => chatFields(await chatSend({ model: "openrouter/fusion", messages: USER })),
  // With Parley's progress events on: they ride in SSE comments, which the SDK skips.
  alias_stream: async () =>
    streamFields(
      await all(
        await chatSend(
          { model: "openrouter/fusion", messages: USER, stream: true },
          { headers: { "x-parley-fusion-events": "1" } },
        ),
      ),
    ),
  server_tool: async () =>
    chatFields(
      await chatSend({
        model: "vendor/outer",
        messages: USER,
        tools: [
          {
            type: "openrouter:fusion",
            parameters: { analysisModels: ["vendor/b"], temperature: 0.3 },
          },
        ],
      }),
    ),
  server_tool_stream: async () =>
    streamFields(
      await all(
        await chatSend({
          model: "vendor/outer",
          messages: USER,
          stream: true,
          tools: [{ type: "openrouter:fusion", parameters: { analysisModels: PANEL } }],
        }),
      ),
    ),
  plugin: async () =>
    chatFields(
      await chatSend({
        model: "vendor/outer",
        messages: USER,
        plugins: [{ id: "fusion", analysisModels: PANEL }],
      }),
    ),

  function_call: async () => {
    const r = await chatSend({ model: "vendor/weather", messages: USER, tools: CHAT_TOOLS });
    return { ...chatFields(r), calls: callsOf(r.choices[0].message.toolCalls) };
  },
  function_call_stream: async () => {
    const chunks = await all(
      await chatSend({ model: "vendor/weather", messages: USER, stream: true, tools: CHAT_TOOLS }),
    );
    const calls = chunks.flatMap((c) => c.choices.flatMap((x) => x.delta.toolCalls ?? []));
    return { ...streamFields(chunks), calls: callsOf(calls) };
  },

  // A request the gateway refuses: must surface as the SDK's class for a 400 (a body it
  // cannot parse would be a ResponseValidationError instead).
  bad_request: async () => {
    try {
      await chatSend({
        model: "vendor/outer",
        messages: USER,
        tools: [{ type: "openrouter:fusion", parameters: { temperature: 9 } }],
      });
    } catch (e) {
      return {
        error: e.constructor.name,
        status: e.statusCode ?? null,
        message: e.message,
        code: e.error?.code ?? null,
        metadata: e.error?.metadata ?? null,
      };
    }
    throw new Error("the gateway accepted fusion temperature 9");
  },

  // An upstream's refusal keeps its status, and so the SDK's class for it.
  rate_limited: async () => {
    try {
      await chatSend({ model: "vendor/flaky", messages: USER });
    } catch (e) {
      return { error: e.constructor.name, status: e.statusCode ?? null, message: e.message };
    }
    throw new Error("vendor/flaky answered");
  },
  // A failure once the stream has begun (the gateway's heartbeat went first): a chunk
  // carrying `error`, which the SDK yields rather than refusing.
  chat_stream_error: async () =>
    streamFields(
      await all(
        await chatSend({
          model: "vendor/flaky",
          messages: USER,
          stream: true,
          tools: [{ type: "openrouter:fusion" }],
        }),
      ),
    ),

  // Every page, as a client walking the listing would.
  models: async () => {
    const entries = {};
    let pages = 0;
    for await (const page of await or.models.list()) {
      pages += 1;
      for (const m of page.result.data) {
        entries[m.id] = {
          name: m.name,
          contextLength: m.contextLength,
          modality: m.architecture.modality,
          pricing: m.pricing,
          maxCompletionTokens: m.topProvider.maxCompletionTokens ?? null,
        };
      }
    }
    return { pages, entries };
  },

  responses: async () =>
    responseFields(await respond({ model: "openrouter/fusion", input: "Why is the sky blue?" })),
  // The server tool with a panelist that fails (vendor/flaky, a 429) and one that reasons
  // (vendor/thinker): every one of the nine fusion events, panel.failed included.
  responses_stream: async () => {
    const stream = await respond({
      model: "vendor/outer",
      input: "Why is the sky blue?",
      stream: true,
      tools: [
        {
          type: "openrouter:fusion",
          parameters: { analysisModels: ["vendor/thinker", "vendor/flaky"] },
        },
      ],
    });
    const events = await all(stream);
    const last = events.at(-1);
    return {
      types: events.map((e) => e.type),
      sequence: events.map((e) => e.sequenceNumber ?? null),
      unknown: events.filter((e) => e.isUnknown).map((e) => e.raw),
      panelFailed: events.filter((e) => e.type === "response.fusion_call.panel.failed"),
      final: last?.response ? responseFields(last.response) : null,
    };
  },
  responses_function_call: async () => {
    const stream = await respond({
      model: "vendor/weather",
      input: "Why is the sky blue?",
      stream: true,
      tools: RESPONSES_TOOLS,
    });
    const events = await all(stream);
    const final = events.at(-1)?.response;
    return {
      types: events.map((e) => e.type),
      unknown: events.filter((e) => e.isUnknown).map((e) => e.raw),
      final: final ? responseFields(final) : null,
      calls: (final?.output ?? [])
        .filter((o) => o.type === "function_call")
        .map((o) => ({ callId: o.callId, name: o.name, arguments: o.arguments, status: o.status })),
    };
  },
  // Every panelist fails: the fusion item is incomplete and says why; the outer model
  // answers without it.
  responses_fusion_failed: async () =>
    responseFields(
      await respond({
        model: "vendor/outer",
        input: "Why is the sky blue?",
        tools: [{ type: "openrouter:fusion", parameters: { analysisModels: ["vendor/flaky"] } }],
      }),
    ),
  // OpenRouter's other server tools, each an output item of its own type.
  responses_server_tools: async () => {
    const stream = await respond({
      model: "vendor/tooler",
      input: "What is new today?",
      stream: true,
      tools: [
        { type: "openrouter:datetime" },
        { type: "openrouter:web_search" },
        { type: "openrouter:web_fetch" },
      ],
    });
    const events = await all(stream);
    const final = events.at(-1)?.response;
    return {
      types: events.map((e) => e.type),
      unknown: events.filter((e) => e.isUnknown).map((e) => e.raw),
      unknownItems: events.filter((e) => e.item?.isUnknown).map((e) => e.item.raw),
      final: final ? responseFields(final) : null,
      items: (final?.output ?? []).filter((o) => o.type.startsWith("openrouter:")),
    };
  },
  // The outer model fails before any output: `response.failed`, parsed as such.
  responses_stream_failed: async () => {
    const stream = await respond({
      model: "vendor/flaky",
      input: "Why is the sky blue?",
      stream: true,
      tools: [{ type: "openrouter:fusion" }],
    });
    const events = await all(stream);
    const last = events.at(-1);
    return {
      types: events.map((e) => e.type),
      unknown: events.filter((e) => e.isUnknown).map((e) => e.raw),
      error: last?.response?.error ?? null,
      status: last?.response?.status ?? null,
    };
  },
  responses_rate_limited: async () => {
    try {
      const tools = [{ type: "openrouter:fusion" }];
      await respond({ model: "vendor/flaky", input: "Why is the sky blue?", tools });
    } catch (e) {
      return { error: e.constructor.name, status: e.statusCode ?? null, message: e.message };
    }
    throw new Error("vendor/flaky answered");
  },
};

/** A failure as the test reads it: the class, the message, and zod's complaint (path and
 * message of every issue) when the SDK refused a shape. */
function describe(e) {
  const zod = e?.cause?.issues ?? e?.issues;
  const flat = (issues) =>
    issues.flatMap((i) =>
      i.code === "invalid_union" && i.errors?.length
        ? i.errors.flatMap(flat)
        : [{ path: i.path, message: i.message }],
    );
  return {
    error: e?.constructor?.name ?? typeof e,
    message: String(e?.message ?? e),
    ...(e?.statusCode ? { status: e.statusCode } : {}),
    ...(zod ? { issues: flat(zod) } : {}),
  };
}

for (const name of wanted.length ? wanted : Object.keys(SCENARIOS)) {
  const run = SCENARIOS[name];
  let line;
  if (!run) line = { scenario: name, ok: false, error: "UnknownScenario", message: name };
  else {
    try {
      line = { scenario: name, ok: true, ...(await run()) };
    } catch (e) {
      line = { scenario: name, ok: false, ...describe(e) };
    }
  }
  process.stdout.write(JSON.stringify(line) + "\n");
}
