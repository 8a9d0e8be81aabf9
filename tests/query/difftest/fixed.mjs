// The fixed adversarial cases of the differential test (issue 13's audit):
// NULLs in every position, empty tables and groups, integer extremes, NaN,
// infinities and -0.0, type mixing, timestamps around epochs and month ends,
// non-ASCII text, LIMIT/OFFSET edges, set operations and column names.  They
// run over small tables DuckDB writes (FIXTURES; `{t}`, `{u}`, `{e}` stand for
// their quoted paths) and over the sample (`{src}`).  Each case is
// {sql, ordered}; every item is aliased where the result column name is not
// itself under test, so names are compared exactly.

export const FIXTURES = {
  t: `SELECT * FROM (VALUES
 (1, 'a', 1.5, 'héllo', TIMESTAMP '2024-01-31 23:59:59', 10.25::DECIMAL(10,2), true, 3),
 (2, 'a', 'NaN'::DOUBLE, 'ÉCOLE', TIMESTAMP '1969-12-31 23:59:59.5', -3.50::DECIMAL(10,2), false, -7),
 (3, NULL, 'inf'::DOUBLE, NULL, TIMESTAMP '2024-02-29 00:00:00', NULL, NULL, NULL),
 (4, 'b', -0.0, 'a%b_c', TIMESTAMP '1900-03-01 12:30:00', 0.00::DECIMAL(10,2), true, 0),
 (5, 'b', NULL, '', NULL, 99999999.99::DECIMAL(10,2), false, 9223372036854775807),
 (6, NULL, '-inf'::DOUBLE, 'Straße', TIMESTAMP '2000-12-31 23:59:59.999999', 1.00::DECIMAL(10,2), true, -9223372036854775808),
 (7, 'c', 0.0, 'x', TIMESTAMP '2024-03-31 01:00:00', 2.50::DECIMAL(10,2), NULL, 5),
 (8, 'c', 'NaN'::DOUBLE, 'ÀÉÎ', TIMESTAMP '2023-12-31 00:00:00', -0.01::DECIMAL(10,2), true, NULL)
) v(id, k, d, s, ts, dec, b, i)`,
  u: `SELECT * FROM (VALUES (1, 'a', 100), (2, NULL, 200), (3, 'b', 300), (4, 'z', NULL), (5, 'a', 500)) v(uid, k, x)`,
  e: `SELECT 1::BIGINT AS id, 'a'::VARCHAR AS k, 1.0::DOUBLE AS d WHERE false`,
};

// ordered: compare rows in order; error: both engines must refuse it (the
// message of ours is checked to contain `error` when it is a string)
const Q = (sql, ordered = false, error = undefined) => ({ sql, ordered, fixed: true, error });
const E = (sql, error) => Q(sql, false, error || true);
// a deliberate refusal (docs/DESIGN.md "Decisions"): ours must refuse with `error`, DuckDB may answer
const R = (sql, error) => ({ ...Q(sql, false, error), refuse: true });

export function fixedQueries() {
  return [

    // NULL keys in group-bys and joins, NULL in CASE / COALESCE / IN
    Q(`SELECT k AS k, count(*) AS n, count(k) AS nk, sum(id) AS s FROM {t} GROUP BY k ORDER BY k NULLS FIRST`, true),
    Q(`SELECT t.id AS id, u.uid AS uid FROM {t} t JOIN {u} u ON t.k = u.k ORDER BY id, uid`, true),
    Q(`SELECT t.id AS id, u.uid AS uid FROM {t} t LEFT JOIN {u} u ON t.k = u.k ORDER BY id, uid NULLS FIRST`, true),
    R(`SELECT t.id AS id, u.uid AS uid FROM {t} t RIGHT JOIN {u} u ON t.k = u.k ORDER BY uid, id`, 'RIGHT JOIN (swap the sources and use LEFT JOIN) is not supported'),
    Q(`SELECT t.id AS id, u.uid AS uid FROM {t} t FULL JOIN {u} u ON t.k = u.k ORDER BY id NULLS FIRST, uid NULLS FIRST`, true),
    R(`SELECT t.id AS id, u.uid AS uid FROM {t} t JOIN {u} u ON t.k IS NOT DISTINCT FROM u.k ORDER BY id, uid`, 'is not supported'),
    Q(`SELECT id AS id FROM {t} WHERE k IN (SELECT k FROM {u}) ORDER BY id`, true),
    Q(`SELECT id AS id FROM {t} WHERE k NOT IN (SELECT k FROM {u}) ORDER BY id`, true),
    Q(`SELECT id AS id FROM {t} WHERE id NOT IN (SELECT uid FROM {u} WHERE uid > 3) ORDER BY id`, true),
    Q(`SELECT t.id AS id FROM {t} t SEMI JOIN {u} u ON t.k = u.k ORDER BY id`, true),
    Q(`SELECT t.id AS id FROM {t} t ANTI JOIN {u} u ON t.k = u.k ORDER BY id`, true),
    Q(`SELECT CASE WHEN k IS NULL THEN 'none' WHEN k = 'a' THEN 'A' END AS c, CASE k WHEN NULL THEN 1 WHEN 'a' THEN 2 ELSE 3 END AS w FROM {t}`),
    Q(`SELECT coalesce(k, s, 'z') AS c, nullif(k, 'a') AS n, coalesce(NULL, NULL, id) AS c2 FROM {t}`),
    Q(`SELECT k IN ('a', NULL) AS i, k NOT IN ('a', NULL) AS n, id IN (1, NULL) AS j, NULL IN (1, 2) AS z FROM {t}`),
    Q(`SELECT s LIKE NULL AS a, NULL LIKE s AS b, s ILIKE NULL AS c, s NOT LIKE NULL AS d FROM {t}`),
    Q(`SELECT s LIKE 'a\\%b%' ESCAPE '\\' AS a, s LIKE '%!_%' ESCAPE '!' AS b, s NOT LIKE 'a$%%' ESCAPE '$' AS c, s ILIKE 'A\\%B\\_C' ESCAPE '\\' AS d FROM {t}`),
    Q(`SELECT s LIKE 'a%' ESCAPE NULL AS a FROM {t}`),
    Q(`SELECT s ILIKE 'é%' AS a, s ILIKE '%STRASSE' AS b, s LIKE '_é%' AS c FROM {t}`),
    Q(`SELECT greatest(id, i) AS g, least(d, 1)::VARCHAR AS l, CAST(greatest(d, 1) AS VARCHAR) AS g2, greatest(d, NULL)::VARCHAR AS g3, least(NULL, id) AS l2 FROM {t}`),
    Q(`SELECT greatest(1, NULL, 3) AS a, least(NULL, NULL, 'b') AS b`),
    // empty tables and empty groups
    Q(`SELECT count(*) AS n, sum(id) AS s, min(id) AS mi, avg(id) AS a, string_agg(k, ',') AS sa, median(id) AS me, stddev(id) AS sd, count(DISTINCT k) AS cd FROM {e}`),
    Q(`SELECT k AS k, count(*) AS n FROM {e} GROUP BY k`),
    Q(`SELECT count(*) AS n, sum(id) AS s, max(k) AS m FROM {t} WHERE id > 100`),
    Q(`SELECT k AS k, sum(i) FILTER (WHERE id > 100) AS s, count(*) FILTER (WHERE id > 100) AS n FROM {t} GROUP BY k`),
    Q(`SELECT * FROM {e} UNION ALL SELECT * FROM {e}`),
    Q(`SELECT DISTINCT k AS k FROM {e}`),
    // integers at the extremes, division and modulo
    Q(`SELECT id % 3 AS a, -id % 3 AS b, id % -3 AS c, -7 % 3 AS d, 7 % -3 AS e, -7.5 % 2 AS f FROM {t}`),
    Q(`SELECT id % 0 AS a, i % 0 AS b FROM {t}`),
    Q(`SELECT -7 // 2 AS a, 7 // -2 AS b, 7 // 2 AS c, id // 3 AS d, id // 0 AS e FROM {t}`),
    Q(`SELECT i AS i, abs(i) AS a FROM {t} WHERE id <> 6`),
    E(`SELECT abs(i) AS a FROM {t} WHERE id = 6`, 'overflow'),
    E(`SELECT -i AS a FROM {t} WHERE id = 6`, 'overflow'),
    E(`SELECT i * 2 AS a FROM {t} WHERE id = 5`, 'overflow'),
    E(`SELECT i + 1 AS a FROM {t} WHERE id = 5`, 'overflow'),
    E(`SELECT i - 1 AS a FROM {t} WHERE id = 6`, 'overflow'),
    E(`SELECT CAST(i AS INTEGER) AS a FROM {t} WHERE id = 5`, 'out of its range'),
    E(`SELECT CAST(300 AS TINYINT) AS a`, 'out of its range'),
    E(`SELECT CAST(1e30 AS BIGINT) AS a`),
    E(`SELECT CAST('x' AS INTEGER) AS a`),
    Q(`SELECT CAST(2.5::DOUBLE AS BIGINT) AS d, CAST(3.5::DOUBLE AS INTEGER) AS b, CAST('  42 ' AS INTEGER) AS e, CAST('1.5' AS INTEGER) AS f`),
    Q(`SELECT TRY_CAST(s AS INTEGER) AS a, TRY_CAST(k AS DOUBLE) AS b, TRY_CAST(i AS TINYINT) AS c, TRY_CAST('12' AS BIGINT) AS e, TRY_CAST(id * 100 AS TINYINT) AS f FROM {t}`),
    Q(`SELECT CAST(i AS DOUBLE) AS a, CAST(id AS VARCHAR) AS b, CAST(d AS VARCHAR) AS c, CAST(b AS VARCHAR) AS e FROM {t}`),
    R(`SELECT sum(i) AS s FROM {t} WHERE id <> 5`, 'integer overflow in sum(i)'), // DESIGN.md Decisions: no silent HUGEINT
    Q(`SELECT 9223372036854775807 AS a, -9223372036854775808 AS b`),
    // floats: NaN, infinities, -0.0
    // NaN and the infinities compared through their text (JSON output has no NaN)
    Q(`SELECT id AS id, d::VARCHAR AS v FROM {t} ORDER BY d, id`, true),
    Q(`SELECT id AS id, d::VARCHAR AS v FROM {t} ORDER BY d DESC NULLS FIRST, id`, true),
    Q(`SELECT d::VARCHAR AS v, count(*) AS n FROM {t} GROUP BY d`),
    Q(`SELECT DISTINCT d::VARCHAR AS v FROM {t}`),
    Q(`SELECT min(d)::VARCHAR AS mi, max(d)::VARCHAR AS ma, count(DISTINCT d) AS c FROM {t}`),
    Q(`SELECT k AS k, min(d)::VARCHAR AS mi, max(d)::VARCHAR AS ma FROM {t} GROUP BY k`),
    Q(`SELECT sum(d) AS s, avg(d) AS a FROM {t} WHERE id IN (1, 4, 7)`),
    Q(`SELECT round(-0.5) AS a, round(0.5) AS b, round(2.5) AS c, round(-2.5, 0) AS e, floor(-0.5) AS g, ceil(-0.5) AS h`),
    Q(`SELECT sign(d) AS a, abs(d)::VARCHAR AS b FROM {t}`),
    // type mixing
    Q(`SELECT 1 = 1.0 AS a, 1 < 1.5 AS b, 2::BIGINT = 2.0::DOUBLE AS c, '1' = 1 AS e, 1.0 = 1 AS f`),
    Q(`SELECT id AS id FROM {t} WHERE dec = 10.25 OR dec > 1000 OR dec < -1 ORDER BY id`, true),
    Q(`SELECT id AS id, dec > 1 AS a, dec = 0 AS b, dec < '0.5' AS c FROM {t}`),
    R(`SELECT dec + 1 AS c FROM {t}`, "cannot apply '+' to decimal128"),
    Q(`SELECT id AS id FROM {t} WHERE d = 1.5 OR id = 2.0 OR id = '3' ORDER BY id`, true),
    Q(`SELECT id + 0.5 AS a, id * 1.5 AS b, id / 2 AS c, i / 2 AS e FROM {t}`),
    Q(`SELECT sum(dec) AS s, avg(dec) AS a, min(dec) AS mi, max(dec) AS ma FROM {t}`),
    // timestamps
    Q(`SELECT id AS id, extract(year FROM ts) AS y, extract(month FROM ts) AS m, extract(day FROM ts) AS d, extract(hour FROM ts) AS h, extract(minute FROM ts) AS mi, extract(second FROM ts) AS s FROM {t}`),
    Q(`SELECT id AS id, extract(millisecond FROM ts) AS ms, extract(microsecond FROM ts) AS us, extract(epoch FROM ts) AS e, extract(dow FROM ts) AS dw, extract(doy FROM ts) AS dy, extract(week FROM ts) AS w, extract(quarter FROM ts) AS q FROM {t}`),
    Q(`SELECT id AS id, extract(isodow FROM ts) AS a, extract(isoyear FROM ts) AS b, extract(decade FROM ts) AS c, extract(century FROM ts) AS e, extract(millennium FROM ts) AS f, extract(yearweek FROM ts) AS g FROM {t}`),
    Q(`SELECT id AS id, date_trunc('month', ts) AS m, date_trunc('year', ts) AS y, date_trunc('week', ts) AS w, date_trunc('day', ts) AS d, date_trunc('second', ts) AS s, date_trunc('quarter', ts) AS q, date_trunc('millisecond', ts) AS ms FROM {t}`),
    Q(`SELECT id AS id, ts + INTERVAL 1 MONTH AS a, ts - INTERVAL 1 MONTH AS b, ts + INTERVAL '1 year' AS c, ts - INTERVAL 13 MONTHS AS e, ts + INTERVAL 2 QUARTER AS f, INTERVAL 1 YEAR + ts AS g FROM {t}`),
    Q(`SELECT id AS id, ts + INTERVAL (id) MONTH AS a, ts - INTERVAL '-25 months' AS b FROM {t}`),
    Q(`SELECT id AS id FROM {t} WHERE ts > TIMESTAMP '2024-03-31' - INTERVAL 1 MONTH AND ts < TIMESTAMP '2024-12-31' ORDER BY id`, true),
    Q(`SELECT date_trunc('month', ts) + INTERVAL 1 MONTH - INTERVAL 1 DAY AS month_end, count(*) AS n FROM {t} GROUP BY 1`),
    R(`SELECT sum(id) OVER (ORDER BY ts RANGE BETWEEN INTERVAL 1 MONTH PRECEDING AND CURRENT ROW) AS s FROM {t}`, 'an interval of months or years in a frame is not supported'),
    Q(`SELECT id AS id, ts + INTERVAL 36 HOUR AS a, ts - INTERVAL '90 minutes' AS b FROM {t}`),
    Q(`SELECT id AS id, epoch_ms(ts) AS a, epoch(ts) AS b, epoch_us(ts) AS c FROM {t}`),
    Q(`SELECT id AS id, strftime(ts, '%Y-%m-%d %H:%M:%S.%f') AS a, strftime(ts, '%j %a %b %p %I') AS b FROM {t}`),
    Q(`SELECT id AS id, year(ts) AS y, month(ts) AS m, day(ts) AS d, hour(ts) AS h, minute(ts) AS mi, second(ts) AS s, dayofweek(ts) AS dw, dayofyear(ts) AS dy FROM {t}`),
    Q(`SELECT id AS id, ts > '2024-01-01' AS a, ts = '2024-02-29' AS b, ts < TIMESTAMP '1970-01-01' AS c FROM {t}`),
    R(`SELECT id AS id, ts - TIMESTAMP '2024-01-01' AS a FROM {t}`, "cannot apply '-' to timestamp_us"),
    Q(`SELECT id AS id, CAST(ts AS DATE) AS a, CAST(ts AS VARCHAR) AS b FROM {t}`),
    Q(`SELECT min(ts) AS mi, max(ts) AS ma FROM {t}`),
    // unicode strings
    Q(`SELECT id AS id, lower(s) AS l, upper(s) AS u, length(s) AS n, reverse(s) AS r FROM {t}`),
    Q(`SELECT id AS id, substr(s, 0) AS a, substr(s, -2) AS b, substr(s, 2, 100) AS c, substr(s, -100, 2) AS e, substr(s, 0, 2) AS f, substr(s, 2, -1) AS g, substr(s, 3, 0) AS h FROM {t}`),
    Q(`SELECT id AS id, left(s, -1) AS a, right(s, 2) AS b, right(s, -1) AS c, left(s, 100) AS e, substring(s, 2, 2) AS f FROM {t}`),
    Q(`SELECT id AS id, strpos(s, 'é') AS a, position('c' IN s) AS b, instr(s, 'ß') AS c, contains(s, '') AS e FROM {t}`),
    Q(`SELECT id AS id, lpad(s, 6, 'é') AS a, rpad(s, 2, '*') AS b, repeat(s, 2) AS c, lpad(k, -1, 'x') AS e, rpad(s, 7, 'xy') AS f, repeat(k, id - 3) AS g FROM {t}`),
    Q(`SELECT id AS id, split_part(s, 'l', 2) AS a, split_part(s, '', -1) AS b, split_part(s, '%', id - 5) AS c, split_part('a,b,,c', ',', id - 4) AS e FROM {t}`),
    Q(`SELECT id AS id, concat_ws('-', s, NULL, k) AS a, concat_ws(k, id, d::VARCHAR, b) AS b FROM {t}`),
    E(`SELECT lpad(s, 20, '') AS a FROM {t}`, 'the fill is empty'),
    Q(`SELECT id AS id, replace(s, '', 'x') AS a, starts_with(s, '') AS c FROM {t}`),
    Q(`SELECT id AS id, s || NULL AS a, concat(s, NULL, k) AS b, s || id AS c FROM {t}`),
    Q(`SELECT s AS s FROM {t} ORDER BY s NULLS FIRST`, true),
    Q(`SELECT min(s) AS mi, max(s) AS ma, string_agg(s, '' ORDER BY id) AS sa FROM {t}`),
    // LIMIT / OFFSET and ORDER BY forms
    Q(`SELECT * FROM {t} LIMIT 0`),
    Q(`SELECT id AS id FROM {t} ORDER BY id LIMIT 3 OFFSET 100`, true),
    Q(`SELECT id AS id FROM {t} ORDER BY id OFFSET 6`, true),
    Q(`SELECT id AS id FROM {t} ORDER BY id LIMIT 2 OFFSET 7`, true),
    Q(`SELECT id AS x FROM {t} ORDER BY x DESC`, true),
    Q(`SELECT k AS k, id AS id FROM {t} ORDER BY 1 NULLS FIRST, 2 DESC`, true),
    Q(`SELECT k AS k, id AS id FROM {t} ORDER BY k DESC NULLS LAST, id`, true),
    Q(`SELECT id AS id, k AS k FROM {t} ORDER BY id % 3, id`, true),
    Q(`SELECT id AS id, k AS k FROM {t} ORDER BY -id`, true),
    Q(`SELECT k AS k, sum(id) AS s FROM {t} GROUP BY 1 ORDER BY s DESC, k`, true),
    Q(`SELECT k AS k, sum(id) AS s FROM {t} GROUP BY k ORDER BY sum(id), k NULLS FIRST`, true),
    Q(`SELECT id AS id FROM {t} ORDER BY k NULLS FIRST, id LIMIT 4`, true),
    // set operations: type coercion, NULLs, empties
    Q(`SELECT a::VARCHAR AS a FROM (SELECT id AS a FROM {t} UNION SELECT d FROM {t})`),
    Q(`SELECT id AS a FROM {t} UNION ALL SELECT 1.5`),
    Q(`SELECT k AS a FROM {t} UNION SELECT k FROM {u}`),
    Q(`SELECT k AS a FROM {t} INTERSECT SELECT k FROM {u}`),
    Q(`SELECT k AS a FROM {t} EXCEPT SELECT k FROM {u}`),
    Q(`SELECT NULL AS a UNION SELECT NULL`),
    Q(`SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, NULL UNION ALL SELECT NULL, 'y'`),
    Q(`SELECT a::VARCHAR AS a FROM (SELECT d AS a FROM {t} UNION SELECT d FROM {t})`),
    Q(`(SELECT id AS a FROM {t} ORDER BY id LIMIT 2) UNION ALL (SELECT uid FROM {u} ORDER BY uid DESC LIMIT 2)`),
    // CTEs, subqueries, SELECT without FROM
    Q(`WITH t AS (SELECT 1 AS x) SELECT x AS x FROM t`),
    Q(`WITH a AS (SELECT k, count(*) AS n FROM {t} GROUP BY k), b AS (SELECT k, sum(x) AS s FROM {u} GROUP BY k) SELECT a.k AS k, n AS n, s AS s FROM a JOIN b ON a.k = b.k ORDER BY k`, true),
    Q(`SELECT id AS id, (SELECT max(x) FROM {u}) AS m FROM {t} WHERE id > (SELECT count(*) FROM {u})`),
    Q(`SELECT (SELECT max(x) FROM {u} WHERE x > 10000) AS m`),
    Q(`SELECT 1 + 1 AS a, 'x' || 'y' AS b, NULL AS c, 1.5 AS e, true AS f`),
    Q(`SELECT x AS x FROM (SELECT 1 AS x) sub`),
    E(`SELECT id, (SELECT max(x) FROM {u} WHERE u.uid = t.id) AS m FROM {t} t`, 'correlated'),
    Q(`SELECT DISTINCT ON (k) k AS k, id AS id FROM {t} ORDER BY k, id DESC`, true),
    // aggregates and grouping forms
    Q(`SELECT k AS k, count(DISTINCT d) AS a, median(id) AS b, quantile_cont(id, 0.25) AS c, stddev(id) AS e, var_samp(id) AS f, var_pop(id) AS g FROM {t} GROUP BY k`),
    Q(`SELECT median(d) AS a, quantile_cont(d, 0.5) AS b, quantile_disc(id, 0.5) AS c FROM {t} WHERE id IN (1, 4, 7)`),
    Q(`SELECT stddev(id) AS a, var_samp(id) AS b FROM {t} WHERE id = 1`),
    Q(`SELECT k AS k, string_agg(s, ',') AS sagg FROM {t} GROUP BY k`),
    // arg_max family (ids are unique: no ties), any_value, product, bit_*, moments
    Q(`SELECT k AS k, arg_max(s, id) AS a, arg_min(dec, id) AS b, max_by(ts, id) AS c, min_by(id, s) AS e, argmax(b, ts) AS f, arg_max_null(s, id) AS g, arg_min(i, dec) AS h FROM {t} GROUP BY k ORDER BY k NULLS FIRST`, true),
    Q(`SELECT arg_max(id, d) AS a, arg_min(id, d) AS b, arg_max(k, i) AS c, arg_min(s, ts) AS e, arg_max(id, id) FILTER (WHERE id < 5) AS f, arg_max(id, dec) + 1 AS g FROM {t}`),
    Q(`SELECT arg_max(id, d) AS a, any_value(k) AS b, product(id) AS c, bit_xor(id) AS e, corr(id, id) AS f FROM {t} WHERE id > 100`),
    Q(`SELECT k AS k, any_value(s) AS a, product(id) AS b, product(dec) AS c, bit_and(id) AS e, bit_or(id) AS f, bit_xor(i) AS g, bit_and(CAST(id AS INTEGER)) AS h FROM {t} GROUP BY k ORDER BY k NULLS FIRST`, true),
    // (NaN results are left out: the jsonl output prints them as null)
    Q(`SELECT k AS k, corr(id, dec) AS a, covar_pop(id, dec) AS b, covar_samp(dec, id) AS c, regr_slope(dec, id) AS e, regr_intercept(dec, id) AS f, regr_r2(dec, id) AS g, regr_count(dec, id) AS h, regr_avgx(dec, id) AS m, regr_avgy(dec, id) AS n FROM {t} WHERE k IS NOT NULL GROUP BY k ORDER BY k`, true),
    Q(`SELECT corr(id, dec) AS a, regr_sxx(id, dec) AS b, regr_syy(id, dec) AS c, regr_sxy(id, dec) AS e, skewness(id) AS f, kurtosis(id) AS g, skewness(dec) AS h, kurtosis(i) AS m, regr_intercept(id, dec) AS n, regr_r2(i, id) AS o FROM {t}`),
    Q(`SELECT skewness(x) AS a, kurtosis(x) AS b, corr(x, uid) AS c, regr_slope(x, uid) AS e FROM {u} WHERE uid < 3`),
    Q(`SELECT count(*) FILTER (WHERE k IS NULL) AS a, sum(id) FILTER (WHERE id > 4) AS b, count(DISTINCT k) FILTER (WHERE id < 5) AS c FROM {t}`),
    Q(`SELECT k AS g, count(*) AS n FROM {t} GROUP BY g HAVING count(*) > 1 AND k IS NOT NULL`),
    Q(`SELECT k AS k, count(*) AS n FROM {t} GROUP BY ALL HAVING n > 1`),
    Q(`SELECT k AS kk, sum(id) AS s FROM {t} GROUP BY kk HAVING s > 5 AND kk IS NOT NULL`), // s is also a column of {t}
    Q(`SELECT upper(k) AS k, count(*) AS n FROM {t} GROUP BY upper(k) HAVING k <> 'A'`),
    Q(`SELECT sum(id) AS s FROM {t} HAVING sum(id) > 1000`),
    Q(`SELECT k AS k, b AS b, count(*) AS n FROM {t} GROUP BY k, b`),
    // windows and QUALIFY with NULL keys and ties
    Q(`SELECT id AS id, row_number() OVER (PARTITION BY k ORDER BY id) AS rn, sum(id) OVER (PARTITION BY k) AS s, lag(id) OVER (PARTITION BY k ORDER BY id) AS lg FROM {t}`),
    Q(`SELECT id AS id, rank() OVER (ORDER BY d) AS r, dense_rank() OVER (ORDER BY k NULLS FIRST) AS dr FROM {t}`),
    Q(`SELECT id AS id FROM {t} QUALIFY row_number() OVER (PARTITION BY k ORDER BY id DESC) = 1`),
    Q(`SELECT id AS id, sum(i) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS s FROM {t} WHERE id BETWEEN 1 AND 4`),
    Q(`SELECT id AS id, first_value(s) OVER (PARTITION BY k ORDER BY id) AS f FROM {t}`),
    R(`SELECT last_value(s) OVER (PARTITION BY k ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS l FROM {t}`, 'UNBOUNDED FOLLOWING (frames past the current row) is not supported'),
    R(`SELECT id AS id, ntile(3) OVER (ORDER BY id) AS n FROM {t}`, 'the window function ntile is not supported'),
    Q(`SELECT id AS id, (sum(d) OVER (ORDER BY id ROWS 1 PRECEDING))::VARCHAR AS s, isnan(avg(d) OVER (PARTITION BY k ORDER BY id)) AS a_nan, isinf(avg(d) OVER (PARTITION BY k ORDER BY id)) AS a_inf FROM {t}`),
    Q(`SELECT id AS id, isnan(d) AS a, isinf(d) AS b, isfinite(d) AS c, isnan(id) AS e FROM {t}`),
    // joins of every kind
    R(`SELECT t.id AS id, u.uid AS uid FROM {t} t CROSS JOIN {u} u WHERE t.id < 3 ORDER BY id, uid`, 'CROSS JOIN is not supported'),
    R(`SELECT t.id AS id, u.uid AS uid FROM {t} t JOIN {u} u ON t.id = u.uid AND u.x > 150 ORDER BY id`, 'a join condition on an expression is not supported'),
    Q(`SELECT id AS id, uid AS uid FROM {t} t ASOF JOIN {u} u ON t.id >= u.uid ORDER BY id`, true),
    Q(`SELECT id AS id, uid AS uid FROM {t} t ASOF LEFT JOIN {u} u ON t.k = u.k AND t.id >= u.uid ORDER BY id`, true),
    Q(`SELECT uid AS uid, a.x AS x, b.k AS k FROM {u} a JOIN {u} b USING (uid) ORDER BY uid`, true),
    R(`SELECT * FROM {u} a NATURAL JOIN {u} b ORDER BY uid`, 'NATURAL JOIN (use USING) is not supported'),
    // regexp_replace / regexp_extract (RE2's \\1 groups, 'g' and 'i' options, empty matches, UTF-8)
    Q(`SELECT id AS id, regexp_replace(s, '[aeé]', '_') AS a, regexp_replace(s, '[aeé]', '_', 'g') AS b, regexp_replace(s, 'L', '<\\0>', 'gi') AS c, regexp_replace(s, 'x*', '-', 'g') AS e FROM {t}`),
    Q(`SELECT id AS id, regexp_replace(s, '(.)(.)', '\\2\\1') AS a, regexp_replace(s, '(.)', '\\\\', 'g') AS b, regexp_replace(k, '', '.', 'g') AS c, regexp_replace(s, '%', '$1', 'l') AS e FROM {t}`),
    Q(`SELECT id AS id, regexp_extract(s, '[A-Z]+') AS a, regexp_extract(s, '(.)(.)$', 2) AS b, regexp_extract(s, '(z)?', 1) AS c, regexp_matches(s, 'é', 'i') AS e FROM {t}`),
    E(`SELECT regexp_replace(s, 'a', 'b', 'q') AS a FROM {t}`, "unknown option 'q'"),
    E(`SELECT regexp_extract(s, 'a', 10) AS a FROM {t}`, 'out of range (expected 0 to 9)'),
    // date_diff / make_date / make_timestamp / last_day across epochs, month ends and leap days
    Q(`SELECT id AS id, date_diff('day', ts, TIMESTAMP '2024-03-01') AS a, date_diff('month', ts, TIMESTAMP '2024-03-01') AS b, date_diff('year', TIMESTAMP '1970-01-01', ts) AS c, date_diff('week', ts, TIMESTAMP '2000-01-01') AS e, date_diff('hour', ts, TIMESTAMP '1970-01-01') AS f, datediff('quarter', ts, DATE '2000-02-01') AS g, date_diff('century', ts, DATE '2000-02-01') AS h FROM {t}`),
    Q(`SELECT id AS id, date_diff('millisecond', ts, TIMESTAMP '2000-01-01 00:00:00.0005') AS a, date_diff('microsecond', TIMESTAMP '1969-12-31 23:59:59.9999995', ts) AS b, date_diff('minute', ts, ts) AS c FROM {t}`),
    Q(`SELECT id AS id, last_day(ts) AS a, make_date(year(ts), month(ts), 1) AS b, make_timestamp(year(ts), month(ts), day(ts), hour(ts), minute(ts), 30.25) AS c FROM {t}`),
    Q(`SELECT make_date(2024, 2, 29) AS a, last_day(DATE '1900-02-10') AS b, make_timestamp(1700000000000000) AS c, make_date(NULL, 1, 1) AS e`),
    E(`SELECT make_date(2023, 2, 29) AS a`, 'is not a valid date'),
    E(`SELECT date_diff('fortnight', ts, ts) AS a FROM {t}`, "unknown part 'fortnight'"),
    // doubles cast to text: plain from 1e-4 to below 1e16, whole numbers with '.0', else scientific
    Q(`SELECT CAST(300.0::DOUBLE AS VARCHAR) AS a, CAST(1e15::DOUBLE AS VARCHAR) AS b, CAST(1e16::DOUBLE AS VARCHAR) AS c, CAST(0.0001::DOUBLE AS VARCHAR) AS e, CAST(1e-5::DOUBLE AS VARCHAR) AS f, CAST(-1.5e-7::DOUBLE AS VARCHAR) AS g, CAST(123456789012345680.0::DOUBLE AS VARCHAR) AS h, CAST(-0.0::DOUBLE AS VARCHAR) AS i, CAST(CAST(0.1 AS FLOAT) AS VARCHAR) AS j`),
    // FLOAT holds floats: a cast rounds; a double beyond float's range is an error
    Q(`SELECT CAST(0.1 AS REAL) + CAST(0.2 AS DOUBLE) AS a, CAST(CAST(0.1 AS FLOAT) AS DOUBLE) AS b, CAST(CAST('0.1' AS FLOAT) AS DOUBLE) AS c, CAST(3.4028235e38 AS FLOAT) AS e`),
    Q(`SELECT id AS id, isnan(CAST(d AS REAL)) AS b, CAST(CAST(d AS FLOAT) AS VARCHAR) AS c, CAST(CAST(d AS REAL) AS DOUBLE) AS a FROM {t} WHERE isfinite(d)`),
    E(`SELECT CAST(1e300 AS FLOAT) AS a`, 'out of'),
    Q(`SELECT id AS id, CAST(d * 1000 AS VARCHAR) AS a, CAST(id * 1e15 AS VARCHAR) AS b, CAST(id / 3 AS VARCHAR) AS c FROM {t}`),
    // count_if, bool_and, bool_or: NULLs skipped, FILTER, empty input
    Q(`SELECT k AS k, count_if(id > 3) AS a, bool_and(b) AS b2, bool_or(b) AS c, count_if(b) FILTER (WHERE id > 2) AS e, bool_and(id > 0) AS f FROM {t} GROUP BY k`),
    Q(`SELECT count_if(b) AS a, bool_and(b) AS c, bool_or(id > 100) AS e FROM {t} WHERE id > 100`),
    Q(`SELECT count_if(b) AS a, bool_and(b) AS c, bool_or(NOT b) AS e FROM {t}`),
  ];
}
