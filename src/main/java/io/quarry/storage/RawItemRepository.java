package io.quarry.storage;

import com.fasterxml.jackson.databind.JsonNode;
import java.sql.Date;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** Mined items, stored once per (user, stream, item id). */
@Repository
public class RawItemRepository {

  private final JdbcClient jdbc;
  private final JdbcTemplate template;

  public RawItemRepository(JdbcClient jdbc, JdbcTemplate template) {
    this.jdbc = jdbc;
    this.template = template;
  }

  /** Stores the items not stored yet; items already stored are left as they are. */
  public void storeAll(
      long userId, String stream, UUID runId, List<JsonNode> items, String idField) {
    template.batchUpdate(
        """
            insert into raw_item (user_id, stream, item_id, item, item_day, run_id)
            values (?, ?, ?, cast(? as jsonb), ?, ?)
            on conflict (user_id, stream, item_id) do nothing
            """,
        items,
        500,
        (ps, item) -> {
          ps.setLong(1, userId);
          ps.setString(2, stream);
          ps.setString(3, item.path(idField).asText());
          ps.setString(4, item.toString());
          LocalDate day = dayOf(item);
          ps.setDate(5, day == null ? null : Date.valueOf(day));
          ps.setObject(6, runId);
        });
  }

  /**
   * True when every id was already stored by an earlier run (incremental mining stops there). Items
   * this run stored itself do not count: a page fetched again after a redelivery is not old data.
   */
  public boolean allStoredBefore(long userId, String stream, UUID runId, List<String> ids) {
    Long stored =
        jdbc.sql(
                """
                select count(*) from raw_item
                 where user_id = :user and stream = :stream and item_id = any(:ids)
                   and run_id is distinct from :run
                """)
            .param("run", runId)
            .param("user", userId)
            .param("stream", stream)
            .param("ids", ids.toArray(String[]::new))
            .query(Long.class)
            .single();
    return stored == ids.stream().distinct().count();
  }

  /** The item's day (UTC) from its createdAt, or null when it has none. */
  public static LocalDate dayOf(JsonNode item) {
    String created = item.path("createdAt").asText(null);
    if (created == null) {
      return null;
    }
    try {
      return OffsetDateTime.parse(created).withOffsetSameInstant(ZoneOffset.UTC).toLocalDate();
    } catch (RuntimeException e) {
      return null;
    }
  }
}
