// SPDX-License-Identifier: Apache-2.0
// Shows the series named in the query string (?dicomweb=URL&study=UID&series=UID) and keeps
// window.viewerState up to date: tiles requested, loaded, failed, and any error.
const state = { started: 0, ended: 0, failed: 0, error: null, rendered: false };
window.viewerState = state;

const viewport = document.getElementById("viewport");
viewport.addEventListener("dicommicroscopyviewer_frame_loading_started", () => state.started++);
viewport.addEventListener("dicommicroscopyviewer_frame_loading_ended", () => state.ended++);
viewport.addEventListener("dicommicroscopyviewer_frame_loading_error", () => state.failed++);

async function show() {
  const params = new URLSearchParams(location.search);
  const client = new DICOMwebClient.api.DICOMwebClient({ url: params.get("dicomweb") });
  const metadata = await client.retrieveSeriesMetadata({
    studyInstanceUID: params.get("study"),
    seriesInstanceUID: params.get("series"),
  });
  const volumes = metadata
    .map((m) => new dicomMicroscopyViewer.metadata.VLWholeSlideMicroscopyImage({ metadata: m }))
    .filter((image) => image.ImageType[2] === "VOLUME");
  if (volumes.length === 0) {
    throw new Error("no VOLUME images in the series");
  }
  const viewer = new dicomMicroscopyViewer.viewer.VolumeImageViewer({ client, metadata: volumes });
  viewer.render({ container: viewport });
  state.rendered = true;
}

show().catch((e) => { state.error = String(e && e.stack ? e.stack : e); });
