// SPDX-License-Identifier: Apache-2.0
// Shows every channel of the series named in the query string
// (?dicomweb=URL&study=UID&series=UID) in dicom-microscopy-viewer, each through the Palette
// Color LUT of its own optical path, added up as the viewer blends channels.
//   limits=LOW,HIGH   the display range of every channel (the viewer's limitValues); without
//                     it the viewer's default, the whole range of Bits Allocated
//   swap=ID,ID        shows the first optical path in the second's LUT and the other way
//                     round: the fault the test must catch
// The palette display gamma correction (on by default) is turned off: the ramp of a channel
// is then the LUT as the file has it, linear from black to the channel's colour.
// The viewer reads a LUT's data only from the metadata's inline values (a TODO in its
// viewer.js says bulk data would have to be fetched apart); Orthanc's DICOMweb gives every
// OW value as a BulkDataURI. So the page fetches those first and puts them inline, as an
// application built on the viewer has to.
// window.viewerState, for the driver (shoot.mjs): tiles requested, loaded, failed, any
// error, LUT values fetched, and the channels shown with their identifiers, descriptions
// and display ranges.
const state = { started: 0, ended: 0, failed: 0, error: null, rendered: false, channels: [],
                lutValuesFetched: 0 };
window.viewerState = state;

const viewport = document.getElementById("viewport");
viewport.addEventListener("dicommicroscopyviewer_frame_loading_started", () => state.started++);
viewport.addEventListener("dicommicroscopyviewer_frame_loading_ended", () => state.ended++);
viewport.addEventListener("dicommicroscopyviewer_frame_loading_error", () => state.failed++);

const OPTICAL_PATH_SEQUENCE = "00480105";
const PALETTE_COLOR_LOOKUP_TABLE_SEQUENCE = "00480120";

// Replaces each BulkDataURI of the instance's palettes (DICOM JSON) by its InlineBinary.
async function inlinePalettes(client, instance) {
  for (const path of instance[OPTICAL_PATH_SEQUENCE]?.Value ?? []) {
    for (const palette of path[PALETTE_COLOR_LOOKUP_TABLE_SEQUENCE]?.Value ?? []) {
      for (const [tag, element] of Object.entries(palette)) {
        if (element.BulkDataURI) {
          const [data] = await client.retrieveBulkData({ BulkDataURI: element.BulkDataURI });
          const bytes = new Uint8Array(data);
          palette[tag] = { vr: element.vr, InlineBinary: btoa(String.fromCharCode(...bytes)) };
          state.lutValuesFetched++;
        }
      }
    }
  }
}

async function show() {
  const params = new URLSearchParams(location.search);
  const client = new DICOMwebClient.api.DICOMwebClient({ url: params.get("dicomweb") });
  const metadata = await client.retrieveSeriesMetadata({
    studyInstanceUID: params.get("study"),
    seriesInstanceUID: params.get("series"),
  });
  for (const instance of metadata) {
    await inlinePalettes(client, instance);
  }
  const volumes = metadata
    .map((m) => new dicomMicroscopyViewer.metadata.VLWholeSlideMicroscopyImage({ metadata: m }))
    .filter((image) => image.ImageType[2] === "VOLUME");
  if (volumes.length === 0) {
    throw new Error("no VOLUME images in the series");
  }
  const viewer = new dicomMicroscopyViewer.viewer.VolumeImageViewer({
    client,
    metadata: volumes,
    paletteDisplayGammaCorrection: false,
  });
  viewer.render({ container: viewport });

  const ids = viewer.getAllOpticalPaths().map((path) => path.identifier);
  const luts = {};
  for (const id of ids) {
    const style = viewer.getOpticalPathDefaultStyle(id);
    if (!style.paletteColorLookupTable) {
      throw new Error(`optical path ${id} has no Palette Color Lookup Table`);
    }
    luts[id] = style.paletteColorLookupTable;
  }
  if (params.get("swap")) {
    const [a, b] = params.get("swap").split(",");
    [luts[a], luts[b]] = [luts[b], luts[a]];
  }
  const limits = params.get("limits") ? params.get("limits").split(",").map(Number) : null;
  for (const id of ids) {
    const style = { paletteColorLookupTable: luts[id] };
    if (limits) {
      style.limitValues = limits;
    }
    viewer.showOpticalPath(id, style);
    const shown = viewer.getOpticalPathStyle(id);
    const metadata = viewer.getOpticalPathMetadata(id)[0];
    const path = metadata.OpticalPathSequence.find((p) => p.OpticalPathIdentifier === id);
    state.channels.push({
      id,
      description: path.OpticalPathDescription,
      limits: shown.limitValues,
      visible: viewer.isOpticalPathVisible(id),
    });
  }
  state.rendered = true;
}

show().catch((e) => { state.error = String(e && e.stack ? e.stack : e); });
