// taskapi's UI script: the list page's create (through the JSON API, as any client's would) and
// the status page's live health line. Every other action is a plain form.
// `FAULTS` (the faults switched on by TASKAPI_FAULT) is written above this line by the server.
"use strict";

async function call(method, url, body) {
  const init = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  let data = null;
  try {
    data = await response.json();
  } catch (_) {
    data = null;
  }
  if (!response.ok) {
    throw new Error((data && data.error) || `${method} ${url} answered ${response.status}`);
  }
  return data;
}

function showError(message) {
  const el = document.getElementById("error");
  el.textContent = message;
  el.hidden = false;
}

function clearError() {
  const el = document.getElementById("error");
  el.textContent = "";
  el.hidden = true;
}

function renderList(tasks) {
  const list = document.getElementById("task-list");
  list.replaceChildren(...tasks.map((task) => {
    const li = document.createElement("li");
    li.dataset.id = task.id;
    li.dataset.state = task.state;
    const link = document.createElement("a");
    link.href = `/ui/tasks/${task.id}`;
    link.textContent = task.title;
    const state = document.createElement("span");
    state.className = "state";
    state.textContent = task.state;
    li.append(link, " ", state);
    return li;
  }));
  document.getElementById("empty").hidden = tasks.length > 0;
}

// The list page creates without leaving the page: the form posts itself when the script is not
// there yet, which reloads the list.
function tasksPage() {
  const form = document.getElementById("new-task");
  if (!form) return;
  document.querySelector("#new summary").addEventListener("click", () => {
    setTimeout(() => document.getElementById("title").focus(), 0);
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError();
    const input = document.getElementById("title");
    try {
      await call("POST", "/tasks", { title: input.value });
      input.value = "";
      if (!FAULTS.includes("ui-stale-list")) renderList(await call("GET", `/tasks${location.search}`));
    } catch (e) {
      showError(e.message);
    }
  });
}

async function statusPage() {
  const health = document.getElementById("health");
  if (!health) return;
  const shown = health.querySelector("strong");
  try {
    const response = await fetch("/healthz");
    if (!response.ok) throw new Error(`the health check answered ${response.status}`);
    shown.textContent = (await response.text()).trim();
    health.dataset.state = "ok";
    // The fault: the page looks right, and only the console says something went wrong.
    if (FAULTS.includes("ui-console-error")) console.error("status: the counts could not be refreshed");
  } catch (e) {
    shown.textContent = "unreachable";
    health.dataset.state = "unreachable";
    console.error(`status: ${e.message}`);
  }
}

tasksPage();
statusPage();
