// Drawing: the confirmed frame, then skeleton edges and keypoints over it, through the view
// (zoom and pan). Canvas pixels are frame pixels at zoom 1, so a point drawn at (x, y)
// of the frame is at (x, y) of the canvas.

export const PALETTE = ["#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6"];
// One colour per animal when a frame holds several: every point and edge of an animal in its own,
// unlike PALETTE's colour per keypoint, so which point belongs to which animal reads at a glance.
export const ANIMAL_COLOURS = ["#ff2d95", "#00c8ff", "#ffd000", "#7cff4f", "#ff8c00", "#b388ff", "#ffffff", "#00e0a0"];

export function newView() {
  return { scale: 1, x: 0, y: 0 };
}

// Frame coordinates of a point given in canvas pixels.
export function toFrame(view, cx, cy) {
  return { x: cx / view.scale + view.x, y: cy / view.scale + view.y };
}

// Zoom by `factor` keeping the frame point under canvas pixel (cx, cy) where it is.
export function zoomAt(view, factor, cx, cy, width, height) {
  const anchor = toFrame(view, cx, cy);
  view.scale = Math.min(16, Math.max(1, view.scale * factor));
  view.x = anchor.x - cx / view.scale;
  view.y = anchor.y - cy / view.scale;
  clampView(view, width, height);
}

export function panBy(view, dx, dy, width, height) {
  view.x -= dx / view.scale;
  view.y -= dy / view.scale;
  clampView(view, width, height);
}

function clampView(view, width, height) {
  view.x = Math.min(Math.max(0, view.x), width - width / view.scale);
  view.y = Math.min(Math.max(0, view.y), height - height / view.scale);
}

// Marker size in frame pixels: readable on small and large frames alike.
export function markerRadius(width) {
  return Math.max(3, Math.round(width / 90));
}

// layers: [{points: [{x, y, placed, hidden}], colours: [css] | css, edges: [[i, j]], edgeColour: css,
//           active: i | null, radius, style: "dot" | "cross" | "suggestion", alpha: 0..1 (default 1)}]
export function render(canvas, frame, view, layers) {
  canvas.width = frame.width;
  canvas.height = frame.height;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.setTransform(1, 0, 0, 1, 0, 0);
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.setTransform(view.scale, 0, 0, view.scale, -view.x * view.scale, -view.y * view.scale);
  context.drawImage(frame, 0, 0);
  for (const layer of layers) {
    context.globalAlpha = layer.alpha === undefined ? 1 : layer.alpha;
    drawLayer(context, layer, view.scale);
  }
  context.globalAlpha = 1;
  context.setTransform(1, 0, 0, 1, 0, 0);
}

function colourOf(layer, i) {
  return Array.isArray(layer.colours) ? layer.colours[i % layer.colours.length] : layer.colours;
}

function drawLayer(context, layer, scale) {
  const r = layer.radius / Math.sqrt(scale);
  const at = (i) => layer.points[i];
  context.lineWidth = Math.max(1, r / 2.5);
  context.strokeStyle = layer.edgeColour || "rgba(255, 255, 255, 0.85)";
  for (const [a, b] of layer.edges || []) {
    if (!at(a) || !at(b) || !at(a).placed || !at(b).placed) continue;
    context.setLineDash(at(a).hidden || at(b).hidden ? [r, r] : []);
    context.beginPath();
    context.moveTo(at(a).x, at(a).y);
    context.lineTo(at(b).x, at(b).y);
    context.stroke();
  }
  context.setLineDash([]);
  layer.points.forEach((point, i) => {
    if (!point || !point.placed) return;
    const colour = colourOf(layer, i);
    if (layer.style === "cross") {
      // Four arms around the point with its middle left open, so a marker drawn there stays whole
      // and the cross still shows where they differ.
      const inner = r * 1.2;
      const outer = r * 2.6;
      context.beginPath();
      for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
        context.moveTo(point.x + dx * inner, point.y + dy * inner);
        context.lineTo(point.x + dx * outer, point.y + dy * outer);
      }
      context.strokeStyle = "rgba(0, 0, 0, 0.8)";
      context.lineWidth = Math.max(2, r / 1.5);
      context.stroke();
      context.strokeStyle = colour;
      context.lineWidth = Math.max(1, r / 3);
      context.stroke();
      return;
    }
    if (layer.style === "suggestion") {
      drawSuggestion(context, point, colour, r, layer.active === i);
      return;
    }
    context.fillStyle = colour;
    if (point.hidden) {
      // Hidden (occluded): a ring with a centre dot, so its place still reads exactly.
      context.strokeStyle = colour;
      context.lineWidth = Math.max(1, r / 2.5);
      context.setLineDash([r / 1.5, r / 2]);
      context.beginPath(); context.arc(point.x, point.y, r, 0, 2 * Math.PI); context.stroke();
      context.setLineDash([]);
      context.beginPath(); context.arc(point.x, point.y, Math.max(1.5, r / 3), 0, 2 * Math.PI); context.fill();
    } else {
      context.strokeStyle = "#ffffff";
      context.lineWidth = Math.max(1, r / 4);
      context.beginPath(); context.arc(point.x, point.y, r, 0, 2 * Math.PI); context.fill(); context.stroke();
    }
    if (layer.active === i) {
      context.strokeStyle = "#ffffff";
      context.lineWidth = Math.max(1, r / 3);
      context.beginPath(); context.arc(point.x, point.y, r * 1.8, 0, 2 * Math.PI); context.stroke();
    }
  });
}

// A model's suggestion: a hollow ring, dashed in the keypoint's colour over a dark ring, so it
// never reads as a placed (filled) point; the active one gets a second, wider ring.
function drawSuggestion(context, point, colour, r, active) {
  const width = Math.max(1.5, r / 2.5);
  context.beginPath(); context.arc(point.x, point.y, r, 0, 2 * Math.PI);
  context.strokeStyle = "rgba(0, 0, 0, 0.8)";
  context.lineWidth = width + 2;
  context.setLineDash([]);
  context.stroke();
  context.strokeStyle = colour;
  context.lineWidth = width;
  context.setLineDash([r * 0.9, r * 0.5]);
  context.stroke();
  context.setLineDash([]);
  if (active) {
    context.strokeStyle = "#ffffff";
    context.lineWidth = Math.max(1, r / 4);
    context.setLineDash([r / 2, r / 2]);
    context.beginPath(); context.arc(point.x, point.y, r * 1.8, 0, 2 * Math.PI); context.stroke();
    context.setLineDash([]);
  }
}
