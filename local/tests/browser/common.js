// Loaded first by every page of the browser tests (support/browser.rs
// serves it beside the page). `?api=<base URL>&scenario=<name>`. Every call
// goes through fetch; what the script could see (status, the exposed
// headers, a few body fields, or the error) is written into <pre
// id="report"> as JSON, with "done": true at the end.
"use strict";
const params = new URLSearchParams(location.search);
const api = params.get("api");
const steps = [];
// What a page observed besides its fetches.
const notes = {};

function report(done) {
  document.getElementById("report").textContent =
    JSON.stringify({ done, origin: location.origin, steps, notes });
}

// One fetch; `pick` keeps the body fields worth asserting on.
async function call(step, method, path, { body, token, pick, mode } = {}) {
  const headers = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers["authorization"] = "Bearer " + token;
  const seen = { step, method, path };
  let json = null;
  try {
    const response = await fetch(api + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      mode: mode ?? "cors",
    });
    seen.status = response.status;
    seen.type = response.type;
    seen.requestId = response.headers.get("x-request-id");
    seen.retryAfter = response.headers.get("retry-after");
    // Sent by the server but not exposed: a script must not see it.
    seen.date = response.headers.get("date");
    if (response.type === "opaque") {
      steps.push(seen);
      report(false);
      return null;
    }
    json = await response.json();
    seen.fields = pick ? pick(json) : {};
    seen.fields.success = json.success;
    seen.fields.errorCode = json.error_code ?? null;
  } catch (error) {
    seen.error = error.name + ": " + error.message;
  }
  steps.push(seen);
  report(false);
  return json;
}

// Runs the scenario named by `?scenario=` (the first one by default) and
// reports. Then `/done` lets a page that holds its load event (Clock::Wall,
// an iframe on `/hold`) finish loading, which is when its DOM is dumped.
function run(scenarios) {
  const scenario = scenarios[params.get("scenario")] ?? Object.values(scenarios)[0];
  scenario()
    .then(
      () => report(true),
      (error) => { steps.push({ step: "script", error: String(error) }); report(true); },
    )
    .finally(() => fetch("/done", { method: "POST" }));
}
