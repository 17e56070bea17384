package io.quarry.storage;

import io.quarry.message.InvalidMessageException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** Mined items, stored once per (user, stream, item id). */
@Repository
public class RawItemRepository {

  /**
   * Every item of the batch, for a user that exists: its row is taken {@code for key share} once
   * for the statement (what the foreign key did per row before V10), so the user cannot be deleted
   * until the batch has committed. Without looking any item up: for a batch whose user's stream had
   * no items before this run; an item this run stored already (a redelivered batch) fails the
   * statement on the primary key.
   */
  static final String INSERT_ALL =
      """
      insert into raw_item (user_id, stream, item_id, item, item_day, run_id)
      select u.id, :stream, i.id, cast(i.item as jsonb), i.day, :run
        from (select id from app_user where id = :user for key share) as u
       cross join unnest(cast(:ids as text[]), cast(:items as text[]), cast(:days as date[]))
             as i (id, item, day)
      """;

  /**
   * The items of the batch not stored yet, for a user that exists. Each item is looked up by the
   * whole primary key (a lateral sub-select with {@code limit 1}, which the planner cannot turn
   * into a join): a {@code not exists} became an anti-join that the generic plan of a table without
   * statistics ran as a scan of every row of the stream, or of the user, per batch.
   */
  static final String INSERT_NEW =
      INSERT_ALL
          + """
            left join lateral (
                 select true as found from raw_item r
                  where r.user_id = :user and r.stream = :stream and r.item_id = i.id
                  limit 1) as stored on true
           where stored.found is null
          """;

  /** The same, waiting for and skipping rows a concurrent statement inserted meanwhile. */
  private static final String INSERT_SKIPPING_CONFLICTS =
      INSERT_NEW + "on conflict (user_id, stream, item_id) do nothing";

  static final String ALL_STORED_BEFORE =
      """
      select not exists (
        select 1 from unnest(cast(:ids as text[])) as i (id)
          left join lateral (
               select true as found from raw_item r
                where r.user_id = :user and r.stream = :stream and r.item_id = i.id
                  and r.stored_at < :since
                limit 1) as earlier on true
         where earlier.found is null)
      """;

  private final JdbcClient jdbc;

  public RawItemRepository(JdbcClient jdbc) {
    this.jdbc = jdbc;
  }

  /**
   * Stores the items not stored yet; items already stored are left as they are. One statement for
   * the whole batch (the items as arrays, unnested by PostgreSQL): one parse, one plan and one
   * round trip instead of a statement per item, atomic on its own (autocommit).
   *
   * <p>When no earlier run stored items of the user's stream ({@link ReceivedBatch#earlierItems()}
   * false: a user's first run, such as the initial mining of a new tenant's history) the items are
   * inserted without looking each up, which was about a third of the statement's cost; the only
   * items that can be stored already are this run's own, from a redelivered batch, and they fail
   * that statement on the primary key, which then runs again as below.
   *
   * <p>The statement skips stored items by looking each up, not with {@code on conflict do
   * nothing}: an {@code on conflict} insert is a speculative insertion per row (a second index
   * look-up and a confirmation record in the WAL), about a fifth of the statement's cost. An item
   * twice in the batch is passed once. The one case the look-up cannot see, a concurrent batch with
   * the same items committing while this one inserts (a redelivered mining message's batch taken by
   * the other consumer), fails this statement on the primary key; it is then run again with {@code
   * on conflict do nothing}, which waits for the other and skips what it stored (so this runs in
   * autocommit, outside a transaction that the failed statement would abort).
   *
   * @throws InvalidMessageException when the user no longer exists (deleted since the batch was
   *     mined): nothing is stored, and the batch is dead-lettered as permanent with that reason
   */
  public void storeAll(ReceivedBatch batch) {
    List<ReceivedBatch.Item> items = batch.items();
    if (items.isEmpty()) {
      return;
    }
    long userId = batch.userId();
    String stream = batch.stream();
    UUID runId = batch.runId();
    List<ReceivedBatch.Item> distinct = distinctById(items);
    String[] ids = new String[distinct.size()];
    String[] bodies = new String[distinct.size()];
    String[] days = new String[distinct.size()];
    for (int i = 0; i < ids.length; i++) {
      ReceivedBatch.Item item = distinct.get(i);
      ids[i] = item.id();
      bodies[i] = item.json();
      days[i] = item.day() == null ? null : item.day().toString();
    }
    int stored;
    try {
      stored =
          insert(
              batch.earlierItems() ? INSERT_NEW : INSERT_ALL,
              userId,
              stream,
              runId,
              ids,
              bodies,
              days);
    } catch (DuplicateKeyException storedMeanwhileOrBefore) {
      stored = insert(INSERT_SKIPPING_CONFLICTS, userId, stream, runId, ids, bodies, days);
    }
    if (stored < ids.length && !userExists(userId)) {
      throw new InvalidMessageException(
          "user " + userId + " no longer exists: its " + stream + " items are not stored");
    }
  }

  private boolean userExists(long userId) {
    return jdbc.sql("select exists (select 1 from app_user where id = :user)")
        .param("user", userId)
        .query(Boolean.class)
        .single();
  }

  private int insert(
      String sql,
      long userId,
      String stream,
      UUID runId,
      String[] ids,
      String[] bodies,
      String[] days) {
    return jdbc.sql(sql)
        .param("user", userId)
        .param("stream", stream)
        .param("run", runId)
        .param("ids", ids)
        .param("items", bodies)
        .param("days", days)
        .update();
  }

  /** The items with the first of each id (a page may repeat an item the API sent twice). */
  private static List<ReceivedBatch.Item> distinctById(List<ReceivedBatch.Item> items) {
    Set<String> seen = new HashSet<>(items.size() * 2);
    List<ReceivedBatch.Item> distinct = new ArrayList<>(items.size());
    for (ReceivedBatch.Item item : items) {
      if (seen.add(item.id())) {
        distinct.add(item);
      }
    }
    return distinct;
  }

  /**
   * True when every id was already stored before {@code since}, the start of the user's chain
   * (incremental mining stops there). Items the chain stored itself do not count: a page fetched
   * again after a redelivery, or by a run that resumed the chain, is not old data. Stops at the
   * first id not stored before (the usual case: new data). Each id is looked up by the whole
   * primary key, as in {@link #INSERT_NEW}: as a {@code not exists}, the generic plan read every
   * item the user had ever stored in the stream, for every page.
   */
  public boolean allStoredBefore(long userId, String stream, Instant since, List<String> ids) {
    return Boolean.TRUE.equals(
        jdbc.sql(ALL_STORED_BEFORE)
            .param("since", java.sql.Timestamp.from(since))
            .param("user", userId)
            .param("stream", stream)
            .param("ids", ids.toArray(String[]::new))
            .query(Boolean.class)
            .single());
  }
}
