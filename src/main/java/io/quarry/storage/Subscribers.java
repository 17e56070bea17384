package io.quarry.storage;

import io.quarry.config.QuarryProperties;
import io.quarry.mining.DataBatch;
import io.quarry.notification.EmailRepository;
import java.time.LocalDate;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * What the data-topic subscribers do with a batch. Each is idempotent under redelivery: raw storage
 * by item key, analytics and notification by the batch's (deterministic) id or the run.
 */
@Component
public class Subscribers {

  /**
   * Digest keys (run, user, stream) remembered per instance (about 130 bytes each): the users whose
   * pages are in flight, many times over.
   */
  static final int DIGESTS_REMEMBERED = 50_000;

  private final RawItemRepository rawItems;
  private final JdbcClient jdbc;
  private final TransactionTemplate transaction;
  private final EmailRepository emails;
  private final String idField;
  private final RecentKeys digestsHandled = new RecentKeys(DIGESTS_REMEMBERED);

  public Subscribers(
      RawItemRepository rawItems,
      JdbcClient jdbc,
      TransactionTemplate transaction,
      EmailRepository emails,
      QuarryProperties properties) {
    this.rawItems = rawItems;
    this.jdbc = jdbc;
    this.transaction = transaction;
    this.emails = emails;
    this.idField = properties.platform().itemIdField();
  }

  public void rawStorage(DataBatch batch) {
    rawItems.storeAll(batch.userId(), batch.stream(), batch.runId(), batch.items(), idField);
  }

  /**
   * Adds the batch's items to the per-user, per-day counts, once per batch: one statement (so one
   * round trip and one commit) that records the batch id in {@code processed_message} and adds the
   * counts only when that row is new. A redelivered batch finds its id there and adds nothing; a
   * concurrent duplicate waits on the id's key until the first commits, then adds nothing either.
   */
  public void analytics(DataBatch batch) {
    Map<LocalDate, Long> perDay =
        batch.items().stream()
            .map(RawItemRepository::dayOf)
            .filter(java.util.Objects::nonNull)
            .collect(
                Collectors.groupingBy(Function.identity(), TreeMap::new, Collectors.counting()));
    // Days in ascending order: concurrent batches of one user lock the same rows in the same order.
    String[] days = perDay.keySet().stream().map(LocalDate::toString).toArray(String[]::new);
    Long[] counts = perDay.values().toArray(Long[]::new);
    jdbc.sql(
            """
            with first_time as (
              insert into processed_message (processor, message_id) values ('analytics', :id)
              on conflict do nothing
              returning 1)
            insert into analytics_daily (user_id, stream, day, items)
            select :user, :stream, d.day, d.items
              from first_time,
                   unnest(cast(:days as date[]), cast(:counts as bigint[])) with ordinality
                   as d (day, items, n)
             order by d.n
            on conflict (user_id, stream, day)
            do update set items = analytics_daily.items + excluded.items
            """)
        .param("id", batch.batchId())
        .param("user", batch.userId())
        .param("stream", batch.stream())
        .param("days", days)
        .param("counts", counts)
        .update();
  }

  /**
   * Queues one digest mail per user and run, for users with an address. Every page of a run arrives
   * here; only the first one of a (run, user, stream) on this instance reads the address and claims
   * the digest, the others are answered from memory. The database stays the guard ({@code
   * processed_message}): another instance, or this one after a restart, finds the digest already
   * claimed. A key is remembered only after its work committed (or the user has no address: an
   * address set during a run takes effect from the next run).
   */
  public void notification(DataBatch batch) {
    String key = batch.runId() + ":" + batch.userId() + ":" + batch.stream();
    if (digestsHandled.contains(key)) {
      return;
    }
    String email =
        jdbc.sql("select email from app_user where id = :id")
            .param("id", batch.userId())
            .query(String.class)
            .optional()
            .orElse(null);
    if (email != null && !email.isBlank()) {
      transaction.executeWithoutResult(
          status -> {
            if (firstTime("digest", key)) {
              emails.enqueue(
                  batch.userId(),
                  email,
                  "New " + batch.stream() + " data mined",
                  "Quarry has mined new "
                      + batch.stream()
                      + " data for your account (run "
                      + batch.runId()
                      + ").");
            }
          });
    }
    digestsHandled.add(key);
  }

  private boolean firstTime(String processor, String id) {
    return jdbc.sql(
                """
                insert into processed_message (processor, message_id) values (:processor, :id)
                on conflict do nothing
                """)
            .param("processor", processor)
            .param("id", id)
            .update()
        == 1;
  }

  /**
   * The digest keys this instance has handled, the oldest forgotten beyond {@link
   * #DIGESTS_REMEMBERED} (forgetting one costs a read and a no-op insert, never a second mail).
   */
  private static final class RecentKeys {
    private final Map<String, Boolean> keys;

    RecentKeys(int capacity) {
      this.keys =
          java.util.Collections.synchronizedMap(
              new java.util.LinkedHashMap<>(1024, 0.75f, false) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
                  return size() > capacity;
                }
              });
    }

    boolean contains(String key) {
      return keys.containsKey(key);
    }

    void add(String key) {
      keys.put(key, Boolean.TRUE);
    }
  }
}
