// The criteria household points are coloured by: whether one household meets it (a point
// at zoom 14 and beyond) and how many of a cluster's households do. Pure: no DOM.

const RULES = {
  tanpa_jamban: {
    matches: (p) => p.tanpa_jamban === true || p.tanpa_jamban === 1,
    cluster: "tanpa_jamban"
  },
  ats: { matches: (p) => p.jumlah_ats > 0, cluster: "ada_ats" },
  desil: {
    matches: (p) => typeof p.desil_kesejahteraan === "number" && p.desil_kesejahteraan <= 4,
    cluster: "desil_1_4"
  }
};

export const CRITERIA = Object.keys(RULES);
export const DEFAULT_CRITERION = "tanpa_jamban";

export function isCriterion(code) {
  return CRITERIA.indexOf(code) >= 0;
}

function rule(criterion) {
  return RULES[criterion] || RULES[DEFAULT_CRITERION];
}

// Does the household of a point's properties meet the criterion?
export function meets(props, criterion) {
  return rule(criterion).matches(props);
}

// The share of a cluster's households meeting the criterion (0 for an empty cluster).
export function clusterShare(props, criterion) {
  return props.count ? (props[rule(criterion).cluster] || 0) / props.count : 0;
}
