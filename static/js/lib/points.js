// How household points and clusters of the vector tiles are drawn. Pure: no DOM.

import { clusterShare, meets } from "./criteria.js";

// Cluster colour classes by the share meeting the criterion: < 10 %, 10-25 %, 25-50 %, >= 50 %.
export const SHARE_STEPS = [0.1, 0.25, 0.5];
export const SHARE_LABELS = ["< 10 %", "10\u201325 %", "25\u201350 %", "\u2265 50 %"];
// Clusters are drawn up to this zoom, one point per household beyond.
export const CLUSTER_MAX_ZOOM = 13;

export function shareClass(share) {
  let i = 0;
  while (i < SHARE_STEPS.length && share >= SHARE_STEPS[i]) i++;
  return i;
}

export function isCluster(props) {
  return props.count !== undefined;
}

// Cells are 8 px apart: small radii keep neighbouring clusters apart.
export function clusterRadius(count) {
  return Math.max(2.5, Math.min(7, 2 + Math.sqrt(count) * 0.55));
}

// The Leaflet path style of a tile feature (cluster or household) for the criterion.
export function pointStyle(props, criterion, theme) {
  if (isCluster(props)) {
    return {
      radius: clusterRadius(props.count),
      fill: true, fillColor: theme.share[shareClass(clusterShare(props, criterion))], fillOpacity: 0.95,
      color: theme.clusterBorder, weight: 0.7, opacity: 0.85
    };
  }
  return meets(props, criterion)
    ? { radius: 5, fill: true, fillColor: theme.pointMatch, fillOpacity: 1, color: theme.pointMatchBorder, weight: 1.5, opacity: 1 }
    : { radius: 3.5, fill: true, fillColor: theme.pointOther, fillOpacity: 0.95, color: theme.pointOtherBorder, weight: 1, opacity: 0.9 };
}
