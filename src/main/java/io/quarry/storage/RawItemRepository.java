package io.quarry.storage;

import java.util.List;
import java.util.UUID;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** Mined items, stored once per (user, stream, item id). */
@Repository
public class RawItemRepository {

  private final JdbcClient jdbc;

  public RawItemRepository(JdbcClient jdbc) {
    this.jdbc = jdbc;
  }

  /**
   * Stores the items not stored yet; items already stored are left as they are. One statement for
   * the whole batch (the items as arrays, unnested by PostgreSQL): one parse, one plan and one
   * round trip instead of a statement per item, atomic on its own (autocommit).
   */
  public void storeAll(long userId, String stream, UUID runId, List<ReceivedBatch.Item> items) {
    if (items.isEmpty()) {
      return;
    }
    String[] ids = new String[items.size()];
    String[] bodies = new String[items.size()];
    String[] days = new String[items.size()];
    for (int i = 0; i < ids.length; i++) {
      ReceivedBatch.Item item = items.get(i);
      ids[i] = item.id();
      bodies[i] = item.json();
      days[i] = item.day() == null ? null : item.day().toString();
    }
    jdbc.sql(
            """
            insert into raw_item (user_id, stream, item_id, item, item_day, run_id)
            select :user, :stream, i.id, cast(i.item as jsonb), i.day, :run
              from unnest(cast(:ids as text[]), cast(:items as text[]), cast(:days as date[]))
                   as i (id, item, day)
            on conflict (user_id, stream, item_id) do nothing
            """)
        .param("user", userId)
        .param("stream", stream)
        .param("run", runId)
        .param("ids", ids)
        .param("items", bodies)
        .param("days", days)
        .update();
  }

  /**
   * True when every id was already stored by an earlier run (incremental mining stops there). Items
   * this run stored itself do not count: a page fetched again after a redelivery is not old data.
   * Stops at the first id not stored before (the usual case: new data).
   */
  public boolean allStoredBefore(long userId, String stream, UUID runId, List<String> ids) {
    return Boolean.TRUE.equals(
        jdbc.sql(
                """
                select not exists (
                  select 1 from unnest(cast(:ids as text[])) as i (id)
                   where not exists (
                     select 1 from raw_item r
                      where r.user_id = :user and r.stream = :stream and r.item_id = i.id
                        and r.run_id is distinct from :run))
                """)
            .param("run", runId)
            .param("user", userId)
            .param("stream", stream)
            .param("ids", ids.toArray(String[]::new))
            .query(Boolean.class)
            .single());
  }
}
