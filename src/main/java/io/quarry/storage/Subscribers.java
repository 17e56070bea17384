package io.quarry.storage;

import io.quarry.message.DataBatch;
import io.quarry.message.InvalidMessageException;
import io.quarry.notification.EmailRepository;
import java.sql.SQLException;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * What the data-topic subscribers do with a batch (the pages one mining message fetched). Each is
 * idempotent under redelivery, also when a redelivered mining message groups its pages differently:
 * raw storage by item key, analytics by each page's deterministic id, notification by the run.
 */
@Component
public class Subscribers {

  /**
   * Digest keys (run, user, stream) remembered per instance (about 130 bytes each): the users whose
   * pages are in flight, many times over.
   */
  static final int DIGESTS_REMEMBERED = 50_000;

  /** PostgreSQL's SQLSTATE of a foreign key violation. */
  private static final String FOREIGN_KEY_VIOLATION = "23503";

  private final RawItemRepository rawItems;
  private final JdbcClient jdbc;
  private final TransactionTemplate transaction;
  private final EmailRepository emails;
  private final RecentKeys digestsHandled = new RecentKeys(DIGESTS_REMEMBERED);

  public Subscribers(
      RawItemRepository rawItems,
      JdbcClient jdbc,
      TransactionTemplate transaction,
      EmailRepository emails) {
    this.rawItems = rawItems;
    this.jdbc = jdbc;
    this.transaction = transaction;
    this.emails = emails;
  }

  /**
   * Stores every item of every page of the batch in one statement (without looking each up when no
   * earlier run stored items of the user's stream).
   */
  public void rawStorage(ReceivedBatch batch) {
    rawItems.storeAll(batch);
  }

  /**
   * Adds the batch's items to the per-user, per-day counts, once per page (not per batch: a mining
   * message redelivered may group its pages differently). One statement (one round trip, one
   * commit) records every page's deterministic id ({@link DataBatch#pageId(long)}) in {@code
   * processed_message} and adds the day counts of only the pages whose id was new. A page seen
   * before (in any batch, version 1 or 2) adds nothing; a concurrent duplicate waits on the page
   * id's key until the first commits, then adds nothing either.
   *
   * @throws InvalidMessageException when the user no longer exists (deleted since the batch was
   *     mined; the counts' foreign key refuses them): permanent, dead-lettered with that reason
   *     instead of being retried as a transient failure
   */
  public void analytics(ReceivedBatch batch) {
    // Page ids ascending, and rows (page, day, count) by day: concurrent batches of one user lock
    // the same keys in the same order.
    TreeMap<String, Map<LocalDate, Long>> perPage = new TreeMap<>();
    for (ReceivedBatch.Page page : batch.pages()) {
      Map<LocalDate, Long> perDay =
          perPage.computeIfAbsent(batch.pageId(page.page()), id -> new TreeMap<>());
      for (ReceivedBatch.Item item : page.items()) {
        LocalDate day = item.day();
        if (day != null) {
          perDay.merge(day, 1L, Long::sum);
        }
      }
    }
    String[] pageIds = perPage.keySet().toArray(String[]::new);
    List<String> rowPages = new ArrayList<>();
    List<String> rowDays = new ArrayList<>();
    List<Long> rowCounts = new ArrayList<>();
    perPage.forEach(
        (pageId, perDay) ->
            perDay.forEach(
                (day, count) -> {
                  rowPages.add(pageId);
                  rowDays.add(day.toString());
                  rowCounts.add(count);
                }));
    try {
      countNewPages(batch, pageIds, rowPages, rowDays, rowCounts);
    } catch (DataIntegrityViolationException e) {
      if (isForeignKeyViolation(e)) {
        throw new InvalidMessageException(
            "user "
                + batch.userId()
                + " no longer exists: its "
                + batch.stream()
                + " items are not counted");
      }
      throw e;
    }
  }

  private static boolean isForeignKeyViolation(DataIntegrityViolationException e) {
    return e.getMostSpecificCause() instanceof SQLException sql
        && FOREIGN_KEY_VIOLATION.equals(sql.getSQLState());
  }

  private void countNewPages(
      ReceivedBatch batch,
      String[] pageIds,
      List<String> rowPages,
      List<String> rowDays,
      List<Long> rowCounts) {
    jdbc.sql(
            """
            with new_page as (
              insert into processed_message (processor, message_id)
              select 'analytics', p.id from unnest(cast(:pages as text[])) as p (id) order by p.id
              on conflict do nothing
              returning message_id)
            insert into analytics_daily (user_id, stream, day, items)
            select :user, :stream, r.day, sum(r.items)
              from unnest(cast(:rowPages as text[]), cast(:days as date[]),
                          cast(:counts as bigint[])) as r (page_id, day, items)
              join new_page on new_page.message_id = r.page_id
             group by r.day
             order by r.day
            on conflict (user_id, stream, day)
            do update set items = analytics_daily.items + excluded.items
            """)
        .param("pages", pageIds)
        .param("user", batch.userId())
        .param("stream", batch.stream())
        .param("rowPages", rowPages.toArray(String[]::new))
        .param("days", rowDays.toArray(String[]::new))
        .param("counts", rowCounts.toArray(Long[]::new))
        .update();
  }

  /**
   * Queues one digest mail per user and run, for users with an address. Every batch of a run
   * arrives here; only the first one of a (run, user, stream) on this instance reads the address
   * and claims the digest, the others are answered from memory. The database stays the guard
   * ({@code processed_message}): another instance, or this one after a restart, finds the digest
   * already claimed. A key is remembered only after its work committed (or the user has no address:
   * an address set during a run takes effect from the next run).
   */
  public void notification(ReceivedBatch batch) {
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
