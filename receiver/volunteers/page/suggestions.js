// A model's predicted points, shown as suggestions the volunteer accepts, corrects or ignores.
// Each label says where it came from: "suggested" when a suggestion was accepted unchanged,
// "placed" when the volunteer placed or moved it; a consensus must not count the two alike.

// Per keypoint of the skeleton, the predicted point {x, y} inside the frame, or null. A
// prediction for a frame other than the one shown (seek landed elsewhere) suggests nothing.
export function suggestionsFor(prediction, keypoints, width, height) {
  const points = (prediction && prediction.keypoints) || {};
  return keypoints.map((keypoint) => {
    const point = points[keypoint.id];
    if (!point || !Number.isFinite(point.x) || !Number.isFinite(point.y)) return null;
    if (point.x < 0 || point.y < 0 || point.x > width || point.y > height) return null;
    return { x: point.x, y: point.y };
  });
}

// Whether keypoint i still shows its suggestion: one exists and nothing was placed there yet.
export function showsSuggestion(labels, suggestions, i) {
  return Boolean(suggestions[i]) && !labels[i].placed;
}

// The label keypoint i becomes when its suggestion is accepted as it is.
export function accepted(label, suggestion) {
  return { ...label, x: suggestion.x, y: suggestion.y, placed: true, origin: "suggested" };
}

// The points of the suggestion layer draw.js renders: shown suggestions, null elsewhere.
export function suggestionLayerPoints(labels, suggestions) {
  return suggestions.map((point, i) => (showsSuggestion(labels, suggestions, i) ? { x: point.x, y: point.y, placed: true, hidden: labels[i].hidden } : null));
}
