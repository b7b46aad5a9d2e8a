"""The HTML page's inline CSS and script (the page's Content-Security-Policy allows the script by its hash)."""

CSS = """
:root{--ink:#1f2933;--muted:#616e7c;--line:#d9e2ec;--bg:#f8fafc;--accent:#2563eb}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
color:var(--ink);margin:0;background:#fff}main{max-width:1200px;margin:0 auto;padding:16px 24px 48px}
header{background:var(--bg);border-bottom:1px solid var(--line)}\
header .in{max-width:1200px;margin:0 auto;padding:14px 24px}
h1{font-size:20px;margin:0}h2{font-size:17px;margin:32px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:14px;margin:18px 0 6px}h4{font-size:14px;margin:0 0 6px}nav a{margin-right:14px}
a{color:var(--accent)}.muted{color:var(--muted);font-weight:normal}code{font-size:12px}
.banner{padding:10px 14px;border-radius:6px;margin:12px 0;background:#fef2f2;border:1px solid #fecaca}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}.card{border:1px solid var(--line);border-radius:8px;
padding:10px 14px;min-width:150px;background:var(--bg)}.card .label{color:var(--muted);font-size:12px}
.card .value{font-size:22px;font-weight:600}.card .note{font-size:12px;color:var(--muted)}
.columns{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:18px}
table{border-collapse:collapse;margin:6px 0;font-size:13px}table.kv{width:100%}\
th,td{border-bottom:1px solid var(--line);padding:4px 8px;
text-align:left;vertical-align:top}table.kv th{font-weight:normal;color:var(--muted);white-space:nowrap}
table.sortable th{cursor:pointer;background:var(--bg);user-select:none}\
table.sortable th[aria-sort=ascending]::after{content:" \\25B2"}
table.sortable th[aria-sort=descending]::after{content:" \\25BC"}td[data-sort]{max-width:560px;overflow-wrap:anywhere}
.finder{margin:6px 0;padding:5px 8px;width:320px;border:1px solid var(--line);border-radius:6px}
img.plot{width:min(100%,780px);height:auto;display:block;margin:6px 0}
details.cluster{border:1px solid var(--line);border-radius:8px;margin:10px 0;padding:6px 12px}
details.cluster summary{cursor:pointer;font-weight:600}.pill{background:var(--accent);color:#fff;border-radius:10px;
padding:0 7px;font-size:12px}.pair{display:grid;grid-template-columns:1fr 1fr;gap:12px;margin:10px 0;
border-top:1px dashed var(--line);padding-top:8px}.who{font-size:12px;color:var(--muted);margin-bottom:4px}
.text{white-space:pre-wrap;overflow-wrap:anywhere;font-size:13px;max-height:420px;overflow:auto;
background:var(--bg);padding:8px;border-radius:6px}del{background:#fee2e2;color:#991b1b}
ins{background:#dcfce7;color:#166534;text-decoration:none}
article.doc{border:1px solid var(--line);border-radius:8px;padding:10px 12px;margin:12px 0}
mark{padding:0 1px;border-radius:2px}a.span{color:inherit;text-decoration:none}
.k-exact{background:#fecaca}.k-near{background:#fed7aa}.k-boilerplate{background:#ddd6fe}.k-quote{background:#99f6e4}.k-formula{background:#e5e7eb}
span.kind{padding:0 5px;border-radius:4px;font-size:12px}blockquote{margin:4px 0 8px 16px;color:var(--muted);
white-space:pre-wrap}ol.matches{font-size:13px}footer{color:var(--muted);font-size:12px;margin-top:36px}
article.doc:target,li:target,details:target,mark:target{outline:2px solid var(--accent)}
"""

# Sorting on a header click and filtering rows by a search box; the tables are complete without it.
SCRIPT = """
(function(){
  function key(td, type){var v=td.getAttribute('data-sort');return type==='num'?parseFloat(v):v.toLowerCase();}
  document.querySelectorAll('table.sortable').forEach(function(table){
    var heads=table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads,function(th,col){
      th.tabIndex=0;
      function sort(){
        var type=th.getAttribute('data-type'), asc=th.getAttribute('aria-sort')!=='ascending';
        Array.prototype.forEach.call(heads,function(h){h.removeAttribute('aria-sort');});
        th.setAttribute('aria-sort',asc?'ascending':'descending');
        var body=table.tBodies[0], rows=Array.prototype.slice.call(body.rows);
        rows.sort(function(a,b){var x=key(a.cells[col],type),y=key(b.cells[col],type);
          return (x<y?-1:x>y?1:0)*(asc?1:-1);});
        rows.forEach(function(r){body.appendChild(r);});
      }
      th.addEventListener('click',sort);
      th.addEventListener('keydown',function(e){if(e.key==='Enter'){sort();}});
    });
  });
  document.querySelectorAll('input.finder').forEach(function(box){
    box.hidden=false;
    var table=document.getElementById(box.getAttribute('data-table'));
    box.addEventListener('input',function(){
      var q=box.value.toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows,function(r){
        r.hidden=q!==''&&r.textContent.toLowerCase().indexOf(q)<0;});
    });
  });
})();
"""
