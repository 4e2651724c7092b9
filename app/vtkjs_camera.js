// Added to pyvista's vtk.js export by app/render.py: the camera the user last set in a vtk.js view is kept
// in the tab's sessionStorage and put back when the next export (a new page each run) has drawn its scene.
// The export keeps its render window in window.global.renderWindow; linked views share one camera.
(() => {
  const KEY = "tfe-vtkjs-camera";
  const fields = ["Position", "FocalPoint", "ViewUp", "ViewAngle"];
  const renderWindow = () => (window.global || {}).renderWindow;
  const renderers = () => (renderWindow() ? renderWindow().getRenderers() : []);

  function save(camera) {
    const state = Object.fromEntries(fields.map((f) => [f, camera["get" + f]()]));
    try { window.sessionStorage.setItem(KEY, JSON.stringify(state)); } catch (error) { /* storage off */ }
  }

  function restore(list) {
    let state = null;
    try { state = JSON.parse(window.sessionStorage.getItem(KEY) || "null"); } catch (error) { return; }
    if (!state) return;
    for (const renderer of list) {
      const camera = renderer.getActiveCamera();
      for (const f of fields) {
        if (state[f] !== undefined) camera["set" + f](...[].concat(state[f]));
      }
      renderer.resetCameraClippingRange();
    }
    renderWindow().render();
  }

  let tries = 0;
  let drawn = 0;
  const timer = setInterval(() => {
    const list = renderers().filter((r) => r.getActors().length > 0); // not the empty background renderer
    const ready = list.length > 0;
    if (!ready || ++drawn < 3) { // the scene in, and 0.2 s more for the rest and the export's own camera
      if (++tries > 200) clearInterval(timer); // 20 s: the scene never came
      return;
    }
    clearInterval(timer);
    restore(list);
    window.__tfeCameraRestored = true;
    for (const renderer of list) {
      const camera = renderer.getActiveCamera();
      camera.onModified(() => save(camera));
    }
  }, 100);
})();
