// Query generator of the differential test: deterministic (seeded) SELECT
// statements over the sample data (`tabledata gen-sample`) that tabledata and
// DuckDB must answer alike.  `{src}` stands for the source (a quoted path for
// tabledata, a view for DuckDB).  Each query is {sql, ordered}: ordered when
// its ORDER BY is a total order (so LIMIT/OFFSET pick the same rows), else the
// results are compared as multisets.
//
//   node gen.mjs [count] [seed]   prints the queries, one JSON object a line

// xorshift32: the same sequence on every machine
export function rng(seed) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (a) => a[Math.floor(next() * a.length)],
    some: (a, k) => {
      const c = a.slice(), out = [];
      while (out.length < k && c.length) out.push(c.splice(Math.floor(next() * c.length), 1)[0]);
      return out;
    },
  };
}

// Scalar expressions by kind (every construct of the expression grammar).
const NUM = [
  'Price', 'Size', 'Volume', 'Lot', 'Tick', 'Code', 'Bid', 'Price * Size', 'Size % 7', 'Price % 3',
  '-Tick', 'Size - Lot * 3', 'Size / 4', 'abs(Tick)', 'abs(Price - 500)', 'round(Price, 1)',
  'round(Price)', 'floor(Price)', 'ceil(Price)', 'sqrt(Size)', 'ln(Size)', 'exp(Tick)', 'pow(Lot, 2)',
  'CAST(Price AS BIGINT)', 'Price::INTEGER', 'CAST(Size AS DOUBLE) / 3', 'greatest(Lot, Tick, Code)',
  'least(Price, Bid)', 'coalesce(Volume, -1)', 'nullif(Tick, 1)', 'length(Symbol)',
  'CASE WHEN Price > 500 THEN 1 WHEN Price > 200 THEN 2 ELSE 3 END',
  'CASE Tick WHEN 1 THEN Size WHEN -1 THEN -Size END', 'extract(hour FROM Timestamp)',
  "date_part('minute', Timestamp)", 'year(Timestamp)', 'epoch_ms(Timestamp)', "date_part('dow', Timestamp)",
  "date_part('doy', Timestamp)", 'strpos(Symbol, \'A\')', 'CAST(\'12\' AS INTEGER) + Lot',
  'coalesce(Volume, Size) % 10', 'CASE WHEN Flag THEN Price ELSE -Price END',
];
const STR = [
  'Symbol', 'Exchange', 'Date', 'lower(Symbol)', 'upper(lower(Symbol))', 'substr(Symbol, 2)',
  'substr(Symbol, 1, 2)', "trim('  ' || Symbol || '  ')", "replace(Symbol, 'A', 'xy')",
  "Symbol || '-' || Exchange", 'concat(Symbol, Lot)', 'Size::VARCHAR', 'CAST(Lot AS VARCHAR)',
  "strftime(Timestamp, '%Y-%m-%d %H:%M')", "strftime(Timestamp, '%H:%M:%S.%f')", 'left(Symbol, 2)',
  'reverse(Symbol)', "CASE WHEN Flag THEN 'y' ELSE 'n' END", "CASE Tick WHEN 1 THEN 'up' WHEN -1 THEN 'down' END",
  "coalesce(CASE WHEN Volume IS NULL THEN NULL ELSE 'v' END, 'none')", "ltrim(Symbol, 'A')", "rtrim(Exchange, 'E')",
];
const BOOL = [
  'Flag', "Symbol LIKE 'A%'", "Symbol ILIKE '%a%'", "Symbol NOT LIKE '_S%'", "starts_with(Symbol, 'M')",
  "contains(Symbol, 'N')", "regexp_matches(Symbol, '^[A-M]')", "regexp_matches(Exchange, 'S(DA|E)')",
  'Volume IS DISTINCT FROM Size', 'Volume IS NOT DISTINCT FROM NULL', 'Tick IS DISTINCT FROM 1',
  "ends_with(Symbol, 'L')", 'NOT Flag',
];
const TS = [
  'Timestamp', "date_trunc('hour', Timestamp)", "date_trunc('minute', Timestamp)",
  'Timestamp - INTERVAL 5 MINUTE', 'Timestamp + INTERVAL 90 SECOND', "date_trunc('day', Timestamp) + INTERVAL 1 HOUR",
  "date_trunc('week', Timestamp)", "date_trunc('month', Timestamp)", "Timestamp - INTERVAL '2 hours'",
];
const PRED = [
  'Price > 300', 'Price < 150', 'Size BETWEEN 100 AND 1000', "Symbol IN ('AAPL', 'MSFT', 'NVDA')",
  'Volume IS NULL', 'Volume IS NOT NULL', "Exchange = 'NYSE'", "Date = '2024-01-03'", "Date >= '2024-01-04'",
  "Symbol LIKE '%A%'", 'Tick % 2 = 0', 'Size % 3 = 1', "CASE WHEN Price > 400 THEN 'hi' ELSE 'lo' END = 'hi'",
  "lower(Symbol) = 'aapl'", 'length(Symbol) = 4', "Timestamp < '2024-01-03T15:00:00Z'",
  "date_trunc('hour', Timestamp) = '2024-01-02T15:00:00Z'", 'abs(Tick) = 1 AND Flag', 'NOT (Price > 200 OR Flag)',
  "regexp_matches(Symbol, 'L$')", 'coalesce(Volume, 0) > 500', 'Volume IS DISTINCT FROM Size',
  "Symbol ILIKE 'm%' OR Exchange LIKE 'B_X'", "extract(hour FROM Timestamp) >= 15",
  'CAST(Price AS BIGINT) % 5 = 0', "Timestamp - INTERVAL 1 HOUR > '2024-01-02T15:30:00Z'",
];
const KEYS = [
  'Symbol', 'Exchange', 'Date', 'Tick', 'Flag', 'Lot', 'lower(Symbol)', "date_trunc('hour', Timestamp)",
  "CASE WHEN Price > 500 THEN 'hi' ELSE 'lo' END", 'Size % 5', 'extract(hour FROM Timestamp)',
  'substr(Symbol, 1, 1)', "Symbol || '/' || Exchange", 'Volume IS NULL',
];
const AGGS = [
  'count(*)', 'count(Volume)', 'sum(Size)', 'sum(Price * Size)', 'min(Price)', 'max(Symbol)', 'avg(Price)',
  'avg(Size % 7)', 'max(Timestamp)', "min(date_trunc('minute', Timestamp))", 'sum(CASE WHEN Flag THEN 1 ELSE 0 END)',
  'sum(abs(Tick))', 'max(length(Symbol))', 'min(lower(Symbol))', 'sum(coalesce(Volume, 0))', 'avg(round(Price))',
  'stddev(Price)', 'stddev_pop(Size)', 'var_samp(Price)', 'var_pop(Tick)', 'variance(Size % 7)', 'stddev_samp(Lot)',
  // (not corr or regr_slope: a group of one pair is NaN, which the jsonl output prints as null)
  'bit_xor(Size)', 'bit_or(Lot)', 'bit_and(Size % 64 + 64)', 'covar_samp(Size, Price)', 'regr_intercept(Price, Size)',
  'regr_count(Volume, Price)', 'kurtosis(Size)', // (skewness of Price is near 0: DuckDB's own answer varies at 1e-7 between runs)
];

// More aggregates (issue 13): DISTINCT, quantiles, string_agg, FILTER.
// Columns named sagg* are string_agg results (compared as multisets of their
// '|'-separated parts: neither engine promises an order without ORDER BY),
// approx* are approximate counts (compared within 5 % of DuckDB's exact count).
// Interpolated timestamps are of whole seconds: DuckDB interpolates the
// nanosecond column in microseconds, rounding where tabledata keeps ns.
const MORE_AGGS = [
  'count(DISTINCT Symbol)', 'count(DISTINCT Size % 50)', 'count(DISTINCT Volume)', 'count(DISTINCT Price)',
  'count(DISTINCT Timestamp)', 'count(DISTINCT Flag)', 'count(DISTINCT Bid)', 'sum(DISTINCT Lot)', 'sum(DISTINCT Size % 13)',
  'avg(DISTINCT Tick)', 'avg(DISTINCT Price)', 'median(Price)', 'median(Size)', 'median(Volume)', 'median(Bid)',
  'median(Symbol)', "median(date_trunc('second', Timestamp))", 'median(Flag)', 'quantile_cont(Price, 0.25)',
  'quantile_cont(Size, 0.9)', "quantile_cont(date_trunc('second', Timestamp), 0.1)", 'quantile_cont(Code, 1)', 'quantile_cont(Tick, 0)', 'quantile_disc(Price, 0.75)',
  'quantile_disc(Symbol, 0.5)', 'quantile_disc(Timestamp, 0.3)', 'quantile_disc(Volume, 0.05)', 'quantile_disc(Lot, 0.3)',
  'count(*) FILTER (WHERE Price > 300)', 'sum(Size) FILTER (WHERE Flag)', 'median(Price) FILTER (WHERE Tick = 1)',
  'count(DISTINCT Symbol) FILTER (WHERE Volume IS NULL)', "avg(Price) FILTER (WHERE Exchange = 'NYSE')",
  'max(Symbol) FILTER (WHERE Size > 500)', 'stddev(Price) FILTER (WHERE Flag)', 'count(Volume) FILTER (WHERE Lot > 2)',
];
const MORE_NAMED = [
  ["string_agg(Symbol, '|')", 'sagg'], ["string_agg(Size, '|')", 'sagg'],
  ["string_agg(Exchange, '|') FILTER (WHERE Price > 400)", 'sagg'], ['approx_count_distinct(Symbol)', 'approx'],
  ['approx_count_distinct(Price)', 'approx'], ['approx_count_distinct(Size % 100)', 'approx'],
];

function moreAggShapes(r, add, where) {
  const aggs = (k) => r.some(MORE_AGGS, k).map((x, i) => `${x} AS m${i}`);
  const named = () => { const [x, p] = r.pick(MORE_NAMED); return `${x} AS ${p}0`; };
  return [
    () => add(`SELECT ${r.pick(KEYS)} AS g, ${aggs(3).join(', ')} FROM {src}${where()} GROUP BY g`),
    () => add(`SELECT ${aggs(4).join(', ')} FROM {src}${where()}`),
    () => add(`SELECT ${r.pick(KEYS)} AS g, ${named()}, ${aggs(1)} FROM {src}${where()} GROUP BY g`),
    () => add(`SELECT ${named()} FROM {src}${where()}`),
  ];
}

export function generate(count, seed) {
  const r = rng(seed);
  const out = [];
  const add = (sql, ordered = false) => out.push({ sql, ordered });
  const where = () => (r.next() < 0.6 ? ` WHERE ${r.pick(PRED)}` + (r.next() < 0.3 ? ` AND ${r.pick(PRED)}` : '') : '');
  const items = (pool, k, prefix) => r.some(pool, k).map((e, i) => `${e} AS ${prefix}${i}`);
  // every expression at least once, in projections
  const all = [...NUM, ...STR, ...BOOL, ...TS];
  for (let i = 0; i < all.length; i += 4)
    add(`SELECT ${all.slice(i, i + 4).map((e, j) => `${e} AS c${j}`).join(', ')} FROM {src}${where()}`);
  // every predicate at least once
  for (const p of PRED) add(`SELECT Symbol, Price, Size, Volume FROM {src} WHERE ${p}`);
  const shapes = [
    () => add(`SELECT ${[...items(NUM, 2, 'n'), ...items(STR, 1, 's'), ...items(BOOL, 1, 'b')].join(', ')} FROM {src}${where()}`),
    () => add(`SELECT ${items(TS, 2, 't').join(', ')}, Symbol FROM {src}${where()}`),
    () => { // GROUP BY an alias, with HAVING
      const k = r.pick(KEYS), a = r.some(AGGS, 3);
      const having = r.next() < 0.5 ? ` HAVING ${r.pick(['count(*) > 20', 'sum(Size) > 10000', 'avg(Price) > 200', 'max(Price) - min(Price) > 50'])}` : '';
      add(`SELECT ${k} AS g, ${a.map((x, i) => `${x} AS a${i}`).join(', ')} FROM {src}${where()} GROUP BY g${having}`);
    },
    () => { // GROUP BY positions, ORDER BY keys, LIMIT / OFFSET
      const ks = r.some(KEYS, 2), a = r.some(AGGS, 2);
      const lim = r.int(1, 20), off = r.int(0, 5);
      add(`SELECT ${ks.map((k, i) => `${k} AS k${i}`).join(', ')}, ${a.map((x, i) => `${x} AS a${i}`).join(', ')} FROM {src}${where()} GROUP BY 1, 2 ORDER BY 1, 2 LIMIT ${lim} OFFSET ${off}`, true);
    },
    () => { // GROUP BY ALL
      const k = r.pick(KEYS), a = r.pick(AGGS);
      add(`SELECT ${k} AS g, ${a} AS a FROM {src}${where()} GROUP BY ALL`);
    },
    () => add(`SELECT ${r.some(AGGS, 4).map((x, i) => `${x} AS a${i}`).join(', ')} FROM {src}${where()}`),
    () => add(`SELECT DISTINCT ${r.pick(KEYS)} AS d FROM {src}${where()}`),
    () => { // NULLS FIRST|LAST with a total order
      const nulls = r.pick(['NULLS FIRST', 'NULLS LAST', '']), dir = r.pick(['ASC', 'DESC']);
      add(`SELECT Volume, Symbol, Timestamp, Price, Size FROM {src}${where()} ORDER BY Volume ${dir} ${nulls}, Timestamp, Symbol, Price, Size LIMIT ${r.int(1, 30)} OFFSET ${r.int(0, 10)}`, true);
    },
    () => add(`SELECT * EXCLUDE (${r.some(['Timestamp', 'Bid', 'Flag', 'Lot', 'Code', 'Volume'], 3).join(', ')}) FROM {src}${where()}`),
    () => { // expressions over aggregates
      const k = r.pick(KEYS);
      add(`SELECT ${k} AS g, sum(Price * Size) / sum(Size) AS vwap, CASE WHEN count(*) > 100 THEN 'many' ELSE 'few' END AS n, max(Price) - min(Price) AS spread FROM {src}${where()} GROUP BY g ORDER BY g NULLS FIRST`, true);
    },
  ];
  // every new aggregate at least once, grouped
  for (let i = 0; i < MORE_AGGS.length; i += 3)
    add(`SELECT Exchange AS g, ${MORE_AGGS.slice(i, i + 3).map((x, j) => `${x} AS m${j}`).join(', ')} FROM {src} GROUP BY g`);
  for (const [x, p] of MORE_NAMED) add(`SELECT Symbol AS g, ${x} AS ${p}0 FROM {src} GROUP BY g`);
  shapes.push(...moreAggShapes(r, add, where));
  while (out.length < count) shapes[r.int(0, shapes.length - 1)]();
  windowQueries(rng(seed + 1), add, Math.max(30, Math.floor(count / 10)));
  out.push(...composeQueries(80, seed + 1313)); // query/compose.c
  out.push(...setopQueries(40, seed + 1919)); // query/setops.c
  out.push(...aggOrderQueries(24, seed + 2323)); // query/agg_order.c
  out.push(...qualifyQueries(30, seed + 2929)); // query/firstrow.c, UNION NULL, UTF-8 case
  out.push(...topkQueries(30, seed + 3131)); // ORDER BY ... LIMIT (top-N), QUALIFY ... <= k
  return out.slice(0, Math.max(count, out.length));
}

// Window functions, QUALIFY and DISTINCT ON (issue 13): `n` more queries.
// Functions that depend on the order among ties (row_number, lag, lead,
// first_value, ROWS frames) order by ORDW, which ties only rows equal in
// every selected column; rank, dense_rank and RANGE frames order by single
// columns (ties are peers: deterministic).
const ORDW = 'Timestamp, Exchange, Price, Size, Code, Bid, Volume, Lot, Tick, Flag';
const COLSW = 'Symbol, Timestamp, Exchange, Price, Size, Code, Bid, Volume, Lot, Tick, Flag';
const PARTW = ['Symbol', 'Exchange', 'Symbol, Exchange', 'Date', 'Flag', 'Tick'];
function windowQueries(r, add, n) {
  const part = () => (r.next() < 0.8 ? `PARTITION BY ${r.pick(PARTW)} ` : '');
  const where = () => (r.next() < 0.4 ? ` WHERE ${r.pick(PRED)}` : '');
  const fns = [
    () => `row_number() OVER (${part()}ORDER BY ${ORDW})`,
    () => `rank() OVER (${part()}ORDER BY ${r.pick(['Price', 'Size DESC', 'Tick', 'Volume NULLS FIRST', 'Volume DESC', 'Lot, Tick DESC'])})`,
    () => `dense_rank() OVER (${part()}ORDER BY ${r.pick(['Price DESC', 'Size % 7', 'Volume DESC NULLS FIRST', 'Exchange'])})`,
    () => `${r.pick(['lag', 'lead'])}(${r.pick(['Price', 'Size', 'Symbol', 'Volume', 'Timestamp'])}${r.pick(['', ', 2', ', 0'])}) OVER (${part()}ORDER BY ${ORDW})`,
    () => `${r.pick(['lag', 'lead'])}(${r.pick(['Size', 'Lot'])}, ${r.int(1, 3)}, -1) OVER (${part()}ORDER BY ${ORDW})`,
    () => `${r.pick(['first_value', 'last_value'])}(${r.pick(['Price', 'Symbol', 'Volume'])}) OVER (${part()}ORDER BY ${ORDW})`,
    () => `${r.pick(['sum', 'avg', 'min', 'max', 'count'])}(${r.pick(['Price', 'Size', 'Volume', 'Price * Size'])}) OVER (${part()}ORDER BY ${ORDW} ${r.pick(['ROWS BETWEEN 3 PRECEDING AND CURRENT ROW', 'ROWS UNBOUNDED PRECEDING', 'ROWS BETWEEN 1 PRECEDING AND CURRENT ROW', 'ROWS 10 PRECEDING'])})`,
    () => `${r.pick(['sum', 'avg', 'min', 'max', 'count'])}(${r.pick(['Price', 'Size', 'Volume', 'Symbol'].slice(0, 3))}) OVER (${part()}ORDER BY Timestamp${r.pick(['', ' RANGE BETWEEN INTERVAL 1 MINUTE PRECEDING AND CURRENT ROW', " RANGE BETWEEN INTERVAL '10 minutes' PRECEDING AND CURRENT ROW", ' RANGE UNBOUNDED PRECEDING'])})`,
    () => `${r.pick(['sum', 'avg', 'min', 'max', 'count'])}(${r.pick(['Price', 'Size', 'Volume'])}) OVER (${part()}ORDER BY Size RANGE BETWEEN ${r.int(0, 50)} PRECEDING AND CURRENT ROW)`,
    () => `${r.pick(['count(*)', 'sum(Size)', 'max(Symbol)', 'avg(Price)', 'min(Timestamp)'])} OVER (${part()})`,
  ];
  const shapes = [
    () => add(`SELECT ${COLSW}, ${r.some(fns, 3).map((f, i) => `${f()} AS w${i}`).join(', ')} FROM {src}${where()}`),
    () => add(`SELECT ${COLSW}, ${fns[r.int(0, fns.length - 1)]()} AS w0 FROM {src}${where()} QUALIFY ${r.pick([
      `row_number() OVER (PARTITION BY Symbol ORDER BY ${ORDW} DESC) <= 3`, 'rank() OVER (PARTITION BY Exchange ORDER BY Price DESC) = 1',
      'w0 IS NOT NULL AND Size > avg(Size) OVER (PARTITION BY Symbol)', `lag(Price) OVER (PARTITION BY Symbol ORDER BY ${ORDW}) < Price`])}`),
    () => add(`SELECT DISTINCT ON (${r.pick(['Symbol', 'Exchange', 'Symbol, Exchange', 'Date, Flag'])}) ${COLSW} FROM {src}${where()} ORDER BY ${r.pick(['Symbol', 'Exchange', 'Date', 'Symbol, Exchange'])}, ${r.pick([ORDW, ORDW.split(', ').map((c) => `${c} DESC`).join(', ')])}`),
    () => add(`SELECT Symbol, Timestamp, Price, avg(Price) OVER (PARTITION BY Symbol ORDER BY Timestamp RANGE BETWEEN INTERVAL 1 MINUTE PRECEDING AND CURRENT ROW) AS m FROM {src}${where()} ORDER BY Symbol, Timestamp, m LIMIT ${r.int(5, 40)}`, true),
  ];
  for (const f of fns) add(`SELECT ${COLSW}, ${f()} AS w0 FROM {src}`); // every function at least once
  for (let i = 0; i < n; i++) shapes[r.int(0, shapes.length - 1)]();
}

// Composition (query/compose.c): WITH, subqueries in FROM, JOIN and
// expressions (IN, NOT IN with nulls, scalar, EXISTS), UNION [ALL] with
// numeric widening and ORDER BY / LIMIT over the union, SELECT without FROM.
// Its own seeded stream, so the other queries stay the same.
export function composeQueries(count, seed) {
  const r = rng(seed);
  const out = [];
  const add = (sql, ordered = false) => out.push({ sql, ordered });
  const pred = () => r.pick(PRED);
  const ustr = ['Symbol', 'Exchange', 'lower(Symbol)', "Symbol || '-' || Exchange", 'substr(Symbol, 1, 2)'];
  const unum = ['Size', 'Price', 'Lot', 'Tick', 'Code', 'Volume', 'Bid', 'Size % 7', 'round(Price)'];
  const shapes = [
    () => { // a CTE under an aggregation
      const k = r.pick(KEYS), a = r.some(AGGS, 2);
      add(`WITH t AS (SELECT * FROM {src} WHERE ${pred()}) SELECT ${k} AS g, ${a.map((x, i) => `${x} AS a${i}`).join(', ')} FROM t GROUP BY g`);
    },
    () => // a CTE used by a later CTE and twice in the body
      add(`WITH a AS (SELECT Symbol, Price, Size FROM {src} WHERE ${pred()}), b AS (SELECT Symbol, count(*) AS n, avg(Price) AS ap FROM a GROUP BY Symbol) SELECT a.Symbol, a.Price, a.Size, b.n, b.ap FROM a JOIN b USING (Symbol) WHERE a.Price > b.ap`),
    () => { // a FROM subquery with an alias
      const n = r.pick(NUM), s = r.pick(STR);
      add(`SELECT x.s, count(*) AS c, sum(x.n) AS t FROM (SELECT ${s} AS s, ${n} AS n FROM {src} WHERE ${pred()}) AS x GROUP BY x.s`);
    },
    () => // a subquery as a join side
      add(`SELECT t.Symbol, t.Price, t.Size, m.mx FROM {src} t JOIN (SELECT Symbol, max(Price) AS mx FROM {src} WHERE ${pred()} GROUP BY Symbol) m USING (Symbol) WHERE t.Price = m.mx`),
    () => // UNION ALL, ORDER BY and LIMIT over the whole union (a total order)
      add(`SELECT Symbol, Price, Size, Timestamp FROM {src} WHERE ${pred()} UNION ALL SELECT Symbol, Price, Size, Timestamp FROM {src} WHERE ${pred()} ORDER BY Timestamp, Symbol, Price, Size LIMIT ${r.int(1, 40)} OFFSET ${r.int(0, 5)}`, true),
    () => // UNION (distinct)
      add(`SELECT ${r.pick(ustr)} AS k FROM {src} WHERE ${pred()} UNION SELECT ${r.pick(ustr)} FROM {src} WHERE ${pred()}`),
    () => // numeric widening across three terms
      add(`SELECT Symbol AS s, ${r.pick(unum)} AS v FROM {src} WHERE ${pred()} UNION ALL SELECT Exchange, ${r.pick(unum)} FROM {src} WHERE ${pred()} UNION ALL SELECT Symbol, ${r.pick(unum)} FROM {src} WHERE ${pred()}`),
    () => // a UNION in a CTE, aggregated
      add(`WITH u AS (SELECT Symbol, Size FROM {src} WHERE ${pred()} UNION ALL SELECT Symbol, Lot FROM {src} WHERE ${pred()}) SELECT Symbol, count(*) AS n, sum(Size) AS s FROM u GROUP BY Symbol`),
    () => // IN (SELECT ...)
      add(`SELECT Symbol, Price, Size FROM {src} WHERE Symbol ${r.pick(['IN', 'NOT IN'])} (SELECT Symbol FROM {src} WHERE ${pred()}) AND ${pred()}`),
    () => // NOT IN over a column with nulls: SQL's null semantics
      add(`SELECT Symbol, Size, Volume FROM {src} WHERE ${r.pick(['Size', 'Volume', 'Lot'])} ${r.pick(['IN', 'NOT IN'])} (SELECT Volume FROM {src} WHERE ${pred()}${r.next() < 0.5 ? ' AND Volume IS NOT NULL' : ''})`),
    () => // scalar subqueries in WHERE and in the select list
      add(`SELECT Symbol, Price, Price - (SELECT avg(Price) FROM {src} WHERE ${pred()}) AS d FROM {src} WHERE Price > (SELECT ${r.pick(['avg', 'min', 'max'])}(Price) FROM {src} WHERE ${pred()})`),
    () => // EXISTS
      add(`SELECT Symbol, count(*) AS n FROM {src} WHERE ${r.pick(['', 'NOT '])}EXISTS (SELECT 1 FROM {src} WHERE ${pred()}) GROUP BY Symbol`),
    () => // SELECT without FROM
      add(`SELECT 1 + 2 AS a, 'a' || 'b' AS b, 7 % 3 AS c, (SELECT count(*) FROM {src} WHERE ${pred()}) AS n, upper('x') AS u`),
  ];
  for (let i = 0; out.length < count; i++) shapes[i < shapes.length ? i : r.int(0, shapes.length - 1)]();
  return out;
}

// INTERSECT / EXCEPT [ALL] (query/setops.c): bag semantics with ALL,
// INTERSECT binding tighter than UNION / EXCEPT, parenthesized terms,
// nulls equal, ORDER BY / LIMIT over the whole.  Its own seeded stream.
export function setopQueries(count, seed) {
  const r = rng(seed);
  const out = [];
  const add = (sql, ordered = false) => out.push({ sql, ordered });
  const pred = () => r.pick(PRED);
  const op = () => r.pick(['INTERSECT', 'EXCEPT', 'INTERSECT ALL', 'EXCEPT ALL']);
  const cols = ['Symbol', 'Exchange', 'Symbol, Exchange', 'Volume', 'Size % 5 AS m', 'Flag', 'Date', 'Symbol, Volume % 3 AS v', 'Tick'];
  const shapes = [
    () => { const c = r.pick(cols); add(`SELECT ${c} FROM {src} WHERE ${pred()} ${op()} SELECT ${c} FROM {src} WHERE ${pred()}`); },
    () => { const c = r.pick(cols); // precedence: INTERSECT first
      add(`SELECT ${c} FROM {src} WHERE ${pred()} ${r.pick(['UNION', 'UNION ALL', 'EXCEPT', 'EXCEPT ALL'])} SELECT ${c} FROM {src} WHERE ${pred()} ${r.pick(['INTERSECT', 'INTERSECT ALL'])} SELECT ${c} FROM {src} WHERE ${pred()}`); },
    () => { const c = r.pick(cols); // parenthesized terms
      add(`(SELECT ${c} FROM {src} WHERE ${pred()} ${r.pick(['UNION ALL', 'UNION', 'EXCEPT ALL'])} SELECT ${c} FROM {src} WHERE ${pred()}) ${op()} (SELECT ${c} FROM {src} WHERE ${pred()})`); },
    () => // ORDER BY / LIMIT over the whole, a total order
      add(`SELECT Symbol, Exchange FROM {src} WHERE ${pred()} ${op()} SELECT Symbol, Exchange FROM {src} WHERE ${pred()} ORDER BY Symbol, Exchange LIMIT ${r.int(1, 20)}`, true),
    () => // in a CTE, aggregated
      add(`WITH s AS (SELECT Symbol, Size % 4 AS m FROM {src} WHERE ${pred()} ${op()} SELECT Symbol, Size % 4 FROM {src} WHERE ${pred()}) SELECT Symbol, count(*) AS n, sum(m) AS t FROM s GROUP BY Symbol`),
    () => // numeric widening between the sides
      add(`SELECT Size AS v FROM {src} WHERE ${pred()} ${op()} SELECT ${r.pick(['Lot', 'Code', 'Volume'])} FROM {src} WHERE ${pred()}`),
  ];
  for (let i = 0; out.length < count; i++) shapes[i < shapes.length ? i : r.int(0, shapes.length - 1)]();
  return out;
}

// ORDER BY inside string_agg / first / last (query/agg_order.c), over a
// total order (so the joined string and the picked row are determined);
// the columns are not named sagg* (compared exactly, in order).
export function aggOrderQueries(count, seed) {
  const r = rng(seed);
  const out = [];
  const add = (sql, ordered = false) => out.push({ sql, ordered });
  const pred = () => r.pick(PRED);
  const tot = () => r.pick(['Timestamp, Symbol, Exchange, Price, Size', 'Timestamp DESC, Symbol DESC, Exchange, Price, Size',
    'Price, Timestamp, Symbol, Exchange, Size', 'Size DESC, Timestamp, Symbol, Exchange, Price']);
  const shapes = [
    () => { const o = tot();
      add(`SELECT ${r.pick(['Symbol', 'Exchange', 'Date'])} AS g, string_agg(${r.pick(['Symbol', 'Exchange', "CAST(Size AS VARCHAR)"])}, '${r.pick(['|', ', ', ''])}' ORDER BY ${o}) AS ord_s, first(Price ORDER BY ${o}) AS ord_f, last(Size ORDER BY ${o}) AS ord_l, count(*) AS n FROM {src} WHERE ${pred()} GROUP BY g`); },
    () => // no GROUP BY, a computed key, an order-insensitive aggregate's ORDER BY ignored
      add(`SELECT string_agg(Symbol, '-' ORDER BY Price * -1, Timestamp, Symbol, Exchange, Size) AS ord_s, sum(Size ORDER BY Price) AS t FROM {src} WHERE ${pred()} AND Size > 900`),
    () => // in a grouped query with HAVING and ORDER BY over the aggregate
      add(`SELECT Symbol, last(Price ORDER BY Timestamp, Exchange, Size, Price) AS ord_l FROM {src} WHERE ${pred()} GROUP BY Symbol HAVING count(*) > 1 ORDER BY ord_l, Symbol`, true),
  ];
  for (let i = 0; out.length < count; i++) shapes[i < shapes.length ? i : r.int(0, shapes.length - 1)]();
  return out;
}

// The first row per key (query/firstrow.c): QUALIFY row_number() ... = 1
// (either side) over a total order within the partition, so the row is
// determined, and rank() ... = 1 (ties are peers); an untyped NULL and repeated names in UNION terms; upper and
// lower of non-ASCII text.  Its own seeded stream.
export function qualifyQueries(count, seed) {
  const r = rng(seed);
  const out = [];
  const add = (sql, ordered = false) => out.push({ sql, ordered });
  const pred = () => r.pick(PRED);
  const ord = () => r.pick([ORDW, ORDW.split(', ').map((c) => `${c} DESC`).join(', '),
    'Volume DESC NULLS FIRST, ' + ORDW, 'Price DESC, ' + ORDW]);
  const words = ["'straße'", "'ÉCOLE ñandú'", "'Σίσυφος'", "'Жук и ёж'", "'ǅemal'", "'ÀÉÎÕÜ çà'"];
  const shapes = [
    () => add(`SELECT ${COLSW} FROM {src}${r.next() < 0.5 ? ` WHERE ${pred()}` : ''} QUALIFY ${r.pick(['row_number() OVER (PARTITION BY %p ORDER BY %o) = 1', '1 = row_number() OVER (PARTITION BY %p ORDER BY %o)'])
      .replace('%p', r.pick(PARTW)).replace('%o', ord())}`),
    () => add(`SELECT Symbol, Price, Size FROM {src} QUALIFY row_number() OVER (PARTITION BY ${r.pick(PARTW)} ORDER BY ${ord()}) = 1 ORDER BY Symbol, Price, Size LIMIT ${r.int(1, 8)}`, true),
    () => add(`SELECT ${r.pick(['NULL AS a, Size AS b', 'Symbol AS a, NULL AS b'])} FROM {src} WHERE ${pred()} UNION ALL SELECT ${r.pick(['Exchange, Lot', 'NULL, Price', 'Symbol, NULL'])} FROM {src} WHERE ${pred()}`),
    () => add(`SELECT Size AS a, Lot AS b FROM {src} WHERE ${pred()} UNION${r.pick(['', ' ALL'])} SELECT Size, Size FROM {src} WHERE ${pred()}`),
    () => add(`SELECT upper(${r.pick(words)}) AS u, lower(${r.pick(words)}) AS l, upper(Symbol || ${r.pick(words)}) AS s FROM {src} WHERE ${pred()}`),
    () => add(`SELECT ${COLSW} FROM {src}${r.next() < 0.5 ? ` WHERE ${pred()}` : ''} QUALIFY rank() OVER (${r.next() < 0.8 ? `PARTITION BY ${r.pick(PARTW)} ` : ''}ORDER BY ${r.pick(['Price', 'Size DESC', 'Tick', 'Volume NULLS FIRST', 'Volume DESC', 'Lot, Tick DESC'])}) = 1`),
  ];
  for (let i = 0; out.length < count; i++) shapes[i < shapes.length ? i : r.int(0, shapes.length - 1)]();
  return out;
}

// Top-N and the first k rows per key: ORDER BY ... LIMIT k [OFFSET o] over a
// total order (ORDW last), with or without WHERE, an expression and NULLS
// FIRST among the keys, k = 0 and k past the rows; QUALIFY row_number() ...
// <= k / < k over a total order within the partition, and rank() <= k (ties
// are peers, so the rows are determined).  Its own seeded stream.
export function topkQueries(count, seed) {
  const r = rng(seed);
  const out = [];
  const add = (sql, ordered = false) => out.push({ sql, ordered });
  const where = () => (r.next() < 0.5 ? ` WHERE ${r.pick(PRED)}` : '');
  const first = () => r.pick(['Price DESC', 'Price', 'Volume DESC NULLS FIRST', 'Volume', 'Size * Tick DESC',
    'Timestamp DESC', 'Symbol DESC', 'Tick, Size DESC']);
  const ord = () => r.pick([ORDW, ORDW.split(', ').map((c) => `${c} DESC`).join(', '),
    'Volume DESC NULLS FIRST, ' + ORDW, 'Price DESC, ' + ORDW]);
  const shapes = [
    () => add(`SELECT ${COLSW} FROM {src}${where()} ORDER BY ${first()}, ${ORDW} LIMIT ${r.pick([0, 1, 3, 10, 5000])}`, true),
    () => add(`SELECT Symbol, Price, Volume FROM {src}${where()} ORDER BY ${first()}, ${ORDW} LIMIT ${r.int(1, 12)} OFFSET ${r.int(0, 30)}`, true),
    () => add(`SELECT Price * 2 AS p2, Symbol FROM {src}${where()} ORDER BY ${first()}, ${ORDW} LIMIT ${r.int(1, 9)}`, true),
    () => add(`SELECT ${COLSW} FROM {src}${where()} QUALIFY row_number() OVER (PARTITION BY ${r.pick(PARTW)} ORDER BY ${ord()}) ${r.pick(['<= 2', '<= 3', '< 3', '<= 5'])}`),
    () => add(`SELECT ${COLSW}, row_number() OVER (PARTITION BY ${r.pick(PARTW)} ORDER BY ${ord()}) AS rn FROM {src} QUALIFY rn ${r.pick(['<= 2', '<= 4'])}`),
    () => add(`SELECT ${COLSW}, rank() OVER (${r.next() < 0.8 ? `PARTITION BY ${r.pick(PARTW)} ` : ''}ORDER BY ${r.pick(['Price', 'Size DESC', 'Tick', 'Volume NULLS FIRST', 'Volume DESC', 'Lot, Tick DESC'])}) AS rk FROM {src} QUALIFY rk <= ${r.pick([2, 3, 5])}`),
  ];
  for (let i = 0; out.length < count; i++) shapes[i < shapes.length ? i : r.int(0, shapes.length - 1)]();
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const q of generate(Number(process.argv[2] || 400), Number(process.argv[3] || 13))) console.log(JSON.stringify(q));
}
