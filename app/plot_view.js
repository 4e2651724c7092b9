// The persistent plot of app/plot_view.py: Plotly.react into the plot already in the page.
const SOURCE = "app/static/plotly.min.js"; // relative to the page: works under any server.baseUrlPath
const MIN_VIEW_WIDTH = 380; // px: narrower side-by-side 3D views cut the object at their sides
const TITLE_ROOM = 28; // px above each stacked view for its title

function plotlyJs() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__tfePlotlyLoading) {
    window.__tfePlotlyLoading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = SOURCE;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => reject(new Error("plotly.js did not load from " + SOURCE));
      document.head.appendChild(script);
    });
  }
  return window.__tfePlotlyLoading;
}

const scenes = (layout) => Object.keys(layout).filter((k) => /^scene\d*$/.test(k)).sort();

// the camera the user last set on any view: every view starts from it, and the scenes of a plot move together
function keepCamera(Plotly, root) {
  root.on("plotly_relayout", (event) => {
    if (root.__tfeApplying) return;
    const key = Object.keys(event || {}).find((k) => /^scene\d*\.camera$/.test(k));
    if (!key) return;
    window.__tfeCamera = JSON.parse(JSON.stringify(event[key]));
    const others = scenes(root._fullLayout).filter((s) => s + ".camera" !== key);
    if (!others.length) return;
    const update = Object.fromEntries(others.map((s) => [s + ".camera", window.__tfeCamera]));
    root.__tfeApplying = true;
    Plotly.relayout(root, update).finally(() => { root.__tfeApplying = false; });
  });
}

// the page's look: its background shows through, its text colour and font (light or dark theme), grey grids
function onThePage(layout, element) {
  const style = getComputedStyle(element);
  layout.paper_bgcolor = layout.plot_bgcolor = "rgba(0, 0, 0, 0)";
  layout.font = { ...(layout.font || {}), color: style.color, family: style.fontFamily };
  for (const axis of Object.keys(layout).filter((k) => /^[xy]axis\d*$/.test(k))) {
    layout[axis] = { gridcolor: "rgba(128, 128, 128, 0.3)", zerolinecolor: "rgba(128, 128, 128, 0.6)",
                     linecolor: "rgba(128, 128, 128, 0.6)", ...layout[axis] };
  }
}

// 3D views side by side need a width per view of about their height (plotly fits a scene to its height):
// where the plot is narrower than MIN_VIEW_WIDTH per view, the views go one per row, each about as tall
// as it is wide, with its title (the annotation named "title <scene>") above it
function fitToWidth(layout, width) {
  const ids = scenes(layout);
  if (ids.length < 2 || width / ids.length >= MIN_VIEW_WIDTH) return 1;
  const rowHeight = Math.min(layout.height, Math.max(260, Math.round(0.9 * width)));
  const top = (layout.margin && layout.margin.t) || 0;
  layout.height = ids.length * rowHeight + top;
  const paper = layout.height - top - ((layout.margin && layout.margin.b) || 0);
  ids.forEach((id, row) => {
    const upper = 1 - row / ids.length;
    const room = row === 0 ? 0 : TITLE_ROOM / paper;
    layout[id].domain = { x: [0, 1], y: [1 - (row + 1) / ids.length, upper - room] };
    const title = (layout.annotations || []).find((a) => a.name === "title " + id);
    if (title) Object.assign(title, { x: 0.5, y: upper, yanchor: row === 0 ? "bottom" : "top" });
  });
  return ids.length;
}

// a colour bar as tall as one row, beside the first
function colourBarsPerRow(data, rows) {
  if (rows === 1) return data;
  return data.map((t) => (t.marker && t.marker.colorbar
    ? { ...t, marker: { ...t.marker, colorbar: { ...t.marker.colorbar, len: 0.6 / rows, y: 1 - 0.5 / rows,
                                                  yanchor: "middle" } } }
    : t));
}

function draw(Plotly, root, figure) {
  const layout = JSON.parse(JSON.stringify(figure.layout));
  onThePage(layout, root.parentNode);
  const width = root.clientWidth; // 0 in a hidden tab: drawn again at its width when shown
  if (width > 0) layout.width = width; // react keeps the plot's old size otherwise
  const data = colourBarsPerRow(figure.data, width > 0 ? fitToWidth(layout, width) : 1);
  if (window.__tfeCamera) {
    for (const s of scenes(layout)) layout[s].camera = window.__tfeCamera;
  }
  root.style.height = layout.height + "px";
  root.__tfeWidth = width;
  return Plotly.react(root, data, layout, figure.config);
}

export default function ({ data, parentElement }) {
  if (data === null || data === undefined) { // preload: fetch and evaluate plotly.js while the server runs
    plotlyJs().catch(() => {});
    return;
  }
  let root = parentElement.querySelector(".tfe-plot");
  const fresh = !root;
  root = root || document.createElement("div");
  root.__tfeFigure = typeof data === "string" ? JSON.parse(data) : data;
  let waiting = null;
  if (fresh) { // the first draw takes a few seconds on a slow machine: hold the space and say so
    root.className = "tfe-plot";
    root.style.height = root.__tfeFigure.layout.height + "px";
    waiting = document.createElement("div");
    waiting.className = "tfe-plot-waiting";
    waiting.textContent = "Drawing the plot…";
    waiting.style.cssText = "opacity: 0.6; font-size: 0.9rem; padding: 0.5rem 0;";
    parentElement.append(waiting, root);
  }
  plotlyJs()
    .then((Plotly) => draw(Plotly, root, root.__tfeFigure).then(() => {
      if (!fresh) return;
      waiting.remove();
      keepCamera(Plotly, root);
      // a new width (window resized, sidebar opened or closed): lay the views out again
      new ResizeObserver(() => {
        if (Math.abs(root.clientWidth - root.__tfeWidth) > 1) draw(Plotly, root, root.__tfeFigure);
      }).observe(root);
    }))
    .catch((error) => {
      if (waiting) waiting.remove();
      root.textContent = "The plot could not be drawn: " + error.message;
    });
}
