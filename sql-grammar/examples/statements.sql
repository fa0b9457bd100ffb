-- One example per construct the parser covers
SELECT DISTINCT channel, page AS p, "user" u FROM wikipedia
;
SELECT * FROM sys.segments WHERE datasource = 'wikipedia'
;
SELECT t.* FROM (SELECT channel, COUNT(*) AS c FROM wikipedia GROUP BY channel) AS t WHERE t.c > 1
;
SELECT w.channel, c.name FROM wikipedia w INNER JOIN lookup_table c ON w.channel = c.k
;
SELECT w.channel FROM wikipedia AS w LEFT OUTER JOIN (SELECT k FROM lookups) AS l ON w.channel = l.k
;
SELECT d FROM wikipedia CROSS JOIN UNNEST(MV_TO_ARRAY(tags)) AS u(d)
;
SELECT x FROM UNNEST(ARRAY[1, 2, 3]) AS t(x)
;
SELECT channel, COUNT(*) FROM wikipedia GROUP BY GROUPING SETS ((channel), ())
;
SELECT channel, page, SUM(added) FROM wikipedia GROUP BY ROLLUP (channel, page)
;
SELECT channel, page, SUM(added) FROM wikipedia GROUP BY CUBE (channel, page)
;
SELECT channel, SUM(added) AS s FROM wikipedia GROUP BY channel HAVING s > 10 ORDER BY s DESC LIMIT 5 OFFSET 10
;
SELECT channel FROM wikipedia UNION ALL SELECT page FROM wikipedia
;
WITH top AS (SELECT channel, COUNT(*) AS c FROM wikipedia GROUP BY 1), other(x) AS (SELECT 1)
SELECT * FROM top WHERE c > (SELECT MIN(c) FROM top)
;
SELECT channel, ROW_NUMBER() OVER (PARTITION BY channel ORDER BY added DESC) AS rn,
  RANK() OVER (ORDER BY added), LAG(added, 1) OVER (ORDER BY __time), LEAD(added) OVER (ORDER BY __time),
  SUM(added) OVER (PARTITION BY channel ORDER BY __time ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
FROM wikipedia
;
EXPLAIN PLAN FOR SELECT COUNT(*) FROM wikipedia
;
SELECT TIMESTAMP '2015-09-12', TIMESTAMP '2015-09-12 10:11:12.345', DATE '2015-09-12', INTERVAL '1' DAY, INTERVAL '2' HOUR,
  1, -2.5, 1e3, .5, 'it''s', TRUE, FALSE, NULL
;
SELECT COUNT(*) FROM wikipedia WHERE added > ? AND channel = ? AND __time >= TIME_PARSE(?)
;
SELECT CASE WHEN added > 10 THEN 'big' WHEN added > 0 THEN 'small' ELSE 'none' END,
  CASE channel WHEN '#en' THEN 1 ELSE 0 END, CAST(added AS DOUBLE), CAST(page AS VARCHAR), CAST('1' AS BIGINT)
FROM wikipedia
;
SELECT * FROM wikipedia WHERE channel IN ('#en', '#de') AND page NOT IN ('a') AND added BETWEEN 1 AND 10
  AND added NOT BETWEEN 100 AND 200 AND page LIKE 'A\_%' ESCAPE '\' AND page NOT LIKE '%x%'
;
SELECT * FROM wikipedia WHERE page IS NULL OR page IS NOT NULL OR (added > 1) IS TRUE OR (added > 1) IS NOT FALSE
  OR channel IS DISTINCT FROM page OR channel IS NOT DISTINCT FROM 'x'
;
SELECT EXTRACT(HOUR FROM __time), EXTRACT(EPOCH FROM __time), FLOOR(__time TO DAY), CEIL(__time TO HOUR), FLOOR(added),
  POSITION('a' IN page), POSITION('a' IN page FROM 2), TRIM(BOTH ' ' FROM page), TRIM(LEADING FROM page),
  TRIM(TRAILING 'x' FROM page), TRIM(page), SUBSTRING(page FROM 2 FOR 3), SUBSTRING(page, 1, 2)
FROM wikipedia
;
SELECT SUM(added) FILTER (WHERE channel = '#en'), COUNT(DISTINCT page), COUNT(*) FILTER (WHERE added > 0),
  APPROX_COUNT_DISTINCT(page), EARLIEST(page, 100), LATEST_BY(page, __time), ANY_VALUE(page), ARRAY_AGG(DISTINCT page),
  STRING_AGG(page, ','), LISTAGG(page, ',')
FROM wikipedia
;
SELECT TIMESTAMPADD(HOUR, 1, __time), TIMESTAMPDIFF(DAY, __time, CURRENT_TIMESTAMP), CURRENT_DATE, MILLIS_TO_TIMESTAMP(0),
  TIMESTAMP_TO_MILLIS(__time), TIME_SHIFT(__time, 'P1D', 1), TIME_CEIL(__time, 'PT1H'), page || '-' || channel
FROM wikipedia -- trailing comment
/* block
   comment */
;
SELECT "quoted ""name""", "__time", LEFT(page, 2), RIGHT(page, 2), MOD(added, 3), added % 3 FROM "wikipedia";
;
select count(*) from wikipedia where Channel = 'x' group by page order by 1 desc nulls last fetch first 3 rows only
;
SELECT a FROM (VALUES (1), (2)) AS t(a) WHERE EXISTS (SELECT 1) AND a IN (SELECT 1)
;
SELECT JSON_VALUE(a_nested, '$[1]' RETURNING BIGINT ARRAY) AS c, COUNT(*) FROM test_array GROUP BY 1
