// SPDX-License-Identifier: Apache-2.0
// Shows frame &frame= of ?file= and records in window.plainState what Cornerstone did: the
// window it applied (the page never sets one: the loader takes the file's first Window
// Center/Width, or the pixel range when there is none), the scale, the inversion, and any
// error.
const state = { ready: false, error: null, viewport: null, image: null };
window.plainState = state;

const params = new URLSearchParams(location.search);
const element = document.getElementById("viewport");
element.style.width = `${params.get("width")}px`;
element.style.height = `${params.get("height")}px`;

cornerstoneWADOImageLoader.external.cornerstone = cornerstone;
cornerstoneWADOImageLoader.external.dicomParser = dicomParser;
cornerstone.enable(element);

element.addEventListener("cornerstoneimagerendered", () => {
  const viewport = cornerstone.getViewport(element);
  state.viewport = { windowCenter: viewport.voi.windowCenter,
                     windowWidth: viewport.voi.windowWidth,
                     scale: viewport.scale, invert: viewport.invert };
  state.ready = true;
});

const url = new URL(params.get("file"), location.href).href;
cornerstone.loadImage(`wadouri:${url}?frame=${params.get("frame")}`)
  .then((image) => {
    state.image = { rows: image.rows, columns: image.columns,
                    photometric: image.photometricInterpretation,
                    slope: image.slope, intercept: image.intercept };
    cornerstone.displayImage(element, image);
  })
  .catch((e) => { state.error = String(e && e.stack ? e.stack : JSON.stringify(e)); });
