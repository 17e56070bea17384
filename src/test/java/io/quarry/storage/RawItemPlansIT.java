package io.quarry.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarry.support.QuarryIntegrationTest;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The plans PostgreSQL caches for raw storage's two per-batch statements when it knows nothing of
 * {@code raw_item} (a fresh deployment, or right after a truncate; the generic plan of a prepared
 * statement is kept for the life of the connection): every item is looked up by the whole primary
 * key. Their first form, {@code not exists}, was planned as an anti-join reading every row of the
 * user's (or the stream's) items per batch, which took the mining benchmark from ~1,000 to ~90
 * pages/s within one run.
 */
@QuarryIntegrationTest
class RawItemPlansIT {

  private static final String ITEM_LOOKED_UP_BY_KEY =
      "(?s).*Index (Only )?Scan using raw_item_pkey on raw_item r.*"
          + "Index Cond: \\(\\(user_id = \\$1\\) AND \\(stream = \\$2\\) AND \\(item_id = i\\.id\\)\\).*";

  @Autowired JdbcClient jdbc;
  @Autowired TransactionTemplate transaction;

  @Test
  void theInsertLooksEachItemUpByItsKey() {
    String plan =
        genericPlan(
            RawItemRepository.INSERT_NEW,
            List.of("user", "stream", "run", "ids", "items", "days"),
            "bigint, text, uuid, text[], text[], date[]",
            "1, 'posts', null, '{a}', '{\"{}\"}', '{null}'");
    assertThat(plan)
        .matches(ITEM_LOOKED_UP_BY_KEY)
        .doesNotContain("Hash")
        .doesNotContain("Seq Scan on raw_item");
  }

  @Test
  void theStoredBeforeCheckLooksEachIdUpByItsKey() {
    String plan =
        genericPlan(
            RawItemRepository.ALL_STORED_BEFORE,
            List.of("user", "stream", "since", "ids"),
            "bigint, text, timestamptz, text[]",
            "1, 'posts', now(), '{a}'");
    assertThat(plan)
        .matches(ITEM_LOOKED_UP_BY_KEY)
        .doesNotContain("Hash")
        .doesNotContain("Seq Scan on raw_item");
  }

  /**
   * The generic plan of {@code sql}, its named parameters numbered in the order given, on a {@code
   * raw_item} without statistics (the test's fresh schema; autovacuum may not have run).
   */
  private String genericPlan(String sql, List<String> names, String types, String values) {
    String positional = sql;
    for (int i = 0; i < names.size(); i++) {
      positional = positional.replace(":" + names.get(i), "$" + (i + 1));
    }
    String statement = positional;
    return transaction.execute(
        status -> {
          jdbc.sql("select pg_catalog.set_config('plan_cache_mode', 'force_generic_plan', true)")
              .query()
              .singleRow();
          jdbc.sql("prepare raw_item_plan (" + types + ") as " + statement).update();
          try {
            List<Map<String, Object>> rows =
                jdbc.sql("explain execute raw_item_plan (" + values + ")").query().listOfRows();
            StringBuilder plan = new StringBuilder();
            rows.forEach(row -> plan.append(row.values().iterator().next()).append('\n'));
            return plan.toString();
          } finally {
            jdbc.sql("deallocate raw_item_plan").update();
          }
        });
  }
}
