// The criteria household points are coloured by: the indicators flagged map_criterion,
// handed over by the server as [{code, name}] (the first is the default). Tiles carry,
// per criterion code, whether a household meets it (a point at zoom 14 and beyond) and
// how many of a cluster's households do. Pure: no DOM.

export function criterionCodes(criteria) {
  return criteria.map((criterion) => criterion.code);
}

export function criterionName(criteria, code) {
  const found = criteria.filter((criterion) => criterion.code === code)[0];
  return found ? found.name : "";
}

// Does the household of a point's properties meet the criterion?
export function meets(props, code) {
  return props[code] === true || props[code] === 1;
}

// The share of a cluster's households meeting the criterion (0 for an empty cluster).
export function clusterShare(props, code) {
  return props.count ? (props[code] || 0) / props.count : 0;
}
