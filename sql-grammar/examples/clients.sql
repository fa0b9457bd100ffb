-- Statements real Druid clients send (shared/design/CLIENT_CONTRACTS.md §3.2)
SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = 'druid' AND TABLE_TYPE = 'TABLE'
;
SELECT *
FROM "wikipedia"
LIMIT 0
;
SELECT
    COLUMN_NAME as "column_name",
    TABLE_NAME as "table_name",
    TABLE_SCHEMA as "table_schema",
    DATA_TYPE as "data_type"
FROM INFORMATION_SCHEMA.COLUMNS
WHERE TABLE_SCHEMA NOT IN ('INFORMATION_SCHEMA', 'sys')
;
SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = ?
;
SELECT columns.column_name as "column_name", columns.table_name as "table_name",
       columns.table_schema as "schema_name", columns.data_type as "data_type"
FROM information_schema.columns as columns
WHERE (columns.table_schema = ? AND columns.table_name IN (?))
;
SELECT FLOOR((EXTRACT(EPOCH FROM CURRENT_TIMESTAMP)) / 10) as refresh_key
;
SELECT
COUNT(*) AS "Count",
SUM("added") AS "Added"
FROM "wikipedia" AS t
WHERE (TIMESTAMP '2015-09-12 00:00:00'<="__time" AND "__time"<TIMESTAMP '2015-09-13 00:00:00')
GROUP BY ()
;
SELECT
TIME_FLOOR("__time", 'PT1H', NULL, 'Etc/UTC') AS "t",
COUNT(*) AS "Count",
SUM("added") AS "Added"
FROM "wikipedia" AS t
WHERE (TIMESTAMP '2015-09-12 00:00:00'<="__time" AND "__time"<TIMESTAMP '2015-09-13 00:00:00')
GROUP BY 1
ORDER BY "t" ASC
;
SELECT
"page" AS "page",
"user" AS "user",
COUNT(*) AS "Count",
SUM("added") AS "Added"
FROM "wikipedia" AS t
WHERE ((TIMESTAMP '2015-09-12 00:00:00'<="__time" AND "__time"<TIMESTAMP '2015-09-13 00:00:00') AND ("channel"='#en.wikipedia'))
GROUP BY 1,2
HAVING 100<"Added"
ORDER BY "Added" DESC
LIMIT 10
;
SELECT
COUNT(DISTINCT "user") AS "__VALUE__"
FROM "wikipedia" AS t
WHERE (TIMESTAMP '2015-09-12 00:00:00'<="__time" AND "__time"<TIMESTAMP '2015-09-13 00:00:00')
GROUP BY ()
;
SELECT
"__time", "channel", "page", "added"
FROM "wikipedia" AS t
WHERE (TIMESTAMP '2015-09-12 00:00:00'<="__time" AND "__time"<TIMESTAMP '2015-09-12 01:00:00')
LIMIT 5
;
SELECT COUNT(*) AS "Count" FROM "wikipedia" AS t
WHERE "channel" IN ('#en.wikipedia','#de.wikipedia') AND CONTAINS_STRING(CAST("page" AS VARCHAR),'Corbyn')
GROUP BY ()
;
SELECT TIME_EXTRACT("__time",'HOUR','Etc/UTC') AS "h", (SUM("added")*1.0/COUNT(*)) AS "avg",
  SUM(CASE WHEN ("channel"='#en.wikipedia') THEN "added" ELSE 0 END) AS "en",
  APPROX_QUANTILE_DS("added", 0.98) AS "q"
FROM "wikipedia" AS t
GROUP BY 1
;
SELECT TIME_FLOOR("__time", 'P1D', NULL, 'Asia/Shanghai') AS "d", COUNT(*) AS "Count" FROM "wikipedia" AS t GROUP BY 1
;
SELECT
      DATE_TRUNC('hour', CAST(TIME_FORMAT("wikipedia".__time, 'yyyy-MM-dd HH:mm:ss', 'UTC') AS TIMESTAMP)) "wikipedia__time_hour", count("wikipedia".__time) "wikipedia__count", sum("wikipedia".added) "wikipedia__added"
    FROM
      druid.wikipedia AS "wikipedia"  WHERE ("wikipedia".__time >= TIME_PARSE(?) AND "wikipedia".__time <= TIME_PARSE(?)) GROUP BY 1 ORDER BY 1 ASC LIMIT 10000
;
SELECT
      "wikipedia".page "wikipedia__page", "wikipedia"."user" "wikipedia__user", count("wikipedia".__time) "wikipedia__count", sum("wikipedia".added) "wikipedia__added"
    FROM
      druid.wikipedia AS "wikipedia"  WHERE ("wikipedia".__time >= TIME_PARSE(?) AND "wikipedia".__time <= TIME_PARSE(?)) AND ("wikipedia".channel = ?) GROUP BY 1, 2 HAVING (sum("wikipedia".added) > ?) ORDER BY 4 DESC LIMIT 10
;
SELECT count(distinct "wikipedia"."user") "wikipedia__users" FROM druid.wikipedia AS "wikipedia"  WHERE ("wikipedia".__time >= TIME_PARSE(?) AND "wikipedia".__time <= TIME_PARSE(?)) LIMIT 10000
;
SELECT "wikipedia".__time "wikipedia__time", "wikipedia".channel "wikipedia__channel", "wikipedia".page "wikipedia__page", "wikipedia".added "wikipedia__added_value"
    FROM druid.wikipedia AS "wikipedia"  WHERE ("wikipedia".__time >= TIME_PARSE(?) AND "wikipedia".__time <= TIME_PARSE(?)) ORDER BY 1 ASC LIMIT 5
;
SELECT count("wikipedia".__time) "c" FROM druid.wikipedia AS "wikipedia"
WHERE LOWER("wikipedia".page) LIKE CONCAT('%', LOWER(?), '%') AND "wikipedia".channel IN (?, ?) AND "wikipedia".page IS NOT NULL
;
SELECT DATE_TRUNC('day', CAST(TIME_FORMAT("wikipedia".__time, 'yyyy-MM-dd HH:mm:ss', 'Asia/Shanghai') AS TIMESTAMP)) "d", avg("wikipedia".added) "a"
FROM druid.wikipedia AS "wikipedia" GROUP BY 1
;
SELECT
  TIME_FLOOR("__time", 'PT1H') AS "t",
  COUNT(*) AS "Count",
  SUM("added") AS "Added"
FROM "wikipedia"
WHERE "__time" >= TIMESTAMP '2015-09-12' AND "__time" < TIMESTAMP '2015-09-13'
GROUP BY 1
ORDER BY 1 ASC
;
SELECT COUNT(*) FROM "wikipedia" WHERE "__time" >= TIMESTAMP '2015-09-12 01:00:00' AND "__time" < TIMESTAMP '2015-09-12 00:30:00.123'
