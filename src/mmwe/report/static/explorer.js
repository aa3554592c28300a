(function () {
  "use strict";
  var sets = JSON.parse(document.getElementById("explorer-data").textContent);
  var root = document.getElementById("explorer-app");
  if (!sets.length || !root) { return; }
  var $ = function (id) { return document.getElementById(id); };
  var setSel = $("ex-set"), viewSel = $("ex-view"), input = $("ex-item"), opts = $("ex-items");
  var cur = {set: 0, view: 0, item: -1};
  function option(sel, value, text) { var o = document.createElement("option"); o.value = value; o.textContent = text; sel.appendChild(o); }
  sets.forEach(function (s, i) { option(setSel, i, s.run + " (" + s.title + ")"); });
  function S() { return sets[cur.set]; }
  function fillSet() {
    var s = S();
    viewSel.innerHTML = ""; opts.innerHTML = "";
    s.views.forEach(function (v, i) { option(viewSel, i, v.label); });
    s.query.forEach(function (p) { var o = document.createElement("option"); o.value = s.names[p]; opts.appendChild(o); });
    s.qindex = {}; s.query.forEach(function (p, qi) { s.qindex[p] = qi; });
    cur.view = 0;
    $("ex-cap").textContent = (s.capped
      ? "Capped: " + s.query.length + " of " + s.n_total + " items can be looked up (to keep this file small); "
        + "their neighbours were found among all " + s.n_total + "."
      : "All " + s.n_total + " items can be looked up.") + " K = " + s.k + ", " + s.metric
      + (s.include_self ? ", each item counted as its own first neighbour (as in the run's mNNO). " : ". ")
      + (s.note || "");
  }
  function find(text) {
    var s = S(), t = text.trim().toLowerCase(), i, n;
    if (!t) { return -1; }
    var q = s.query, names = s.names;
    for (i = 0; i < q.length; i++) { if (names[q[i]].toLowerCase() === t) { return i; } }
    for (i = 0; i < q.length; i++) { if (names[q[i]].toLowerCase().indexOf(t) === 0) { return i; } }
    for (i = 0; i < q.length; i++) { if (names[q[i]].toLowerCase().indexOf(t) >= 0) { return i; } }
    return -1;
  }
  function overlap(a, b) { var set = {}, n = 0; b.forEach(function (p) { set[p] = 1; }); a.forEach(function (p) { if (set[p]) { n++; } }); return n; }
  function render() {
    var s = S(), v = s.views[cur.view], qi = cur.item;
    if (qi < 0) { return; }
    var me = s.query[qi], lists = v.columns.map(function (c) { return s.spaces[c][qi]; });
    var inF = {}, inX = {}, inY = {};
    lists[2].forEach(function (p) { inF[p] = 1; }); lists[0].forEach(function (p) { inX[p] = 1; }); lists[1].forEach(function (p) { inY[p] = 1; });
    ["x", "y", "fx"].forEach(function (col, c) {
      $("ex-head-" + col).textContent = v.headers[c];
      var ol = $("ex-list-" + col); ol.innerHTML = "";
      lists[c].forEach(function (p) {
        var li = document.createElement("li");
        li.textContent = s.names[p] + (p === me ? " (self)" : "");
        li.setAttribute("data-row", s.rows[p]);
        if (p === me) { li.classList.add("self"); }
        if (c < 2 && inF[p]) { li.classList.add("shared"); }
        if (c === 2 && inX[p]) { li.classList.add("in-x"); }
        if (c === 2 && inY[p]) { li.classList.add("in-y"); }
        if (p !== me && s.qindex[p] !== undefined) {
          li.classList.add("link");
          li.addEventListener("click", function () { select(s.qindex[p]); });
        }
        ol.appendChild(li);
      });
    });
    var k = s.k, nx = overlap(lists[0], lists[2]), ny = overlap(lists[1], lists[2]);
    var nno = $("ex-nno");
    nno.setAttribute("data-nno-x", nx / k); nno.setAttribute("data-nno-y", ny / k);
    nno.textContent = s.names[me] + ": NNO(" + v.headers[0] + ", " + v.headers[2] + ") = " + nx + "/" + k
      + " = " + (nx / k).toFixed(2) + "; NNO(" + v.headers[1] + ", " + v.headers[2] + ") = " + ny + "/" + k
      + " = " + (ny / k).toFixed(2)
      + (v.mnno && v.mnno.x_fx != null ? "  (run's mNNO: " + v.mnno.x_fx.toFixed(3) + " and " + v.mnno.y_fx.toFixed(3) + ")" : "");
  }
  function select(qi) {
    cur.item = qi; $("ex-status").textContent = "";
    var name = S().names[S().query[qi]];
    if (input.value !== name && document.activeElement !== input) { input.value = name; }
    render();
  }
  input.addEventListener("input", function () {
    var qi = find(input.value);
    if (qi >= 0) { select(qi); } else if (input.value.trim()) { $("ex-status").textContent = "No item matches \u201c" + input.value + "\u201d."; }
  });
  setSel.addEventListener("change", function () { cur.set = +setSel.value; fillSet(); input.value = ""; select(0); input.value = S().names[S().query[0]]; });
  viewSel.addEventListener("change", function () { cur.view = +viewSel.value; render(); });
  fillSet(); select(0); input.value = S().names[S().query[0]];
  root.setAttribute("data-ready", "1");
})();
