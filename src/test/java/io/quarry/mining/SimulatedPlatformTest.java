package io.quarry.mining;

import io.quarry.platform.sim.PlatformSimulator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Pipeline tests against one simulated platform API per test class: the API, what each test leaves
 * behind removed after it, and queries on the chains of the {@code posts} stream.
 */
abstract class SimulatedPlatformTest {

  static final PlatformSimulator PLATFORM = PlatformSimulator.start(0);

  @DynamicPropertySource
  static void platform(DynamicPropertyRegistry registry) {
    registry.add("quarry.platform.base-url", () -> PLATFORM.baseUrl().toString());
  }

  @Autowired JdbcClient jdbc;

  @AfterEach
  void removeWhatTheTestLeft() {
    PLATFORM.reset();
    for (String table :
        List.of(
            "dead_letter",
            "scheduler_run",
            "processed_message",
            "analytics_daily",
            "raw_item",
            "app_user")) {
      jdbc.sql("delete from " + table).update();
    }
  }

  /** The user's chain of the posts stream, empty when there is none. */
  Map<String, Object> state(long user) {
    List<Map<String, Object>> rows =
        jdbc.sql("select * from mining_state where stream = 'posts' and user_id = :u")
            .param("u", user)
            .query()
            .listOfRows();
    return rows.isEmpty() ? Map.of() : rows.get(0);
  }

  /**
   * Where clause of the dead letters of the mining queues: a late message of an earlier test (a
   * subscriber's batch of a user that test deleted) may be parked meanwhile, never from here.
   */
  static final String MINING_DEAD_LETTERS =
      " from dead_letter where source_queue like 'posts-mining-queue-%'";

  long count(String sql) {
    return jdbc.sql(sql).query(Long.class).single();
  }
}
