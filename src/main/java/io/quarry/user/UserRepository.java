package io.quarry.user;

import io.quarry.security.TokenCipher;
import java.util.Optional;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;
import org.springframework.transaction.annotation.Transactional;

/** Users and their encrypted access tokens. Tokens go in and out only through here. */
@Repository
public class UserRepository {

  private final JdbcClient jdbc;
  private final TokenCipher cipher;

  public UserRepository(JdbcClient jdbc, TokenCipher cipher) {
    this.jdbc = jdbc;
    this.cipher = cipher;
  }

  /** Creates the user or replaces its token (and re-activates it); returns its id. */
  @Transactional
  public long upsert(String externalId, String accessToken) {
    return jdbc.sql(
            """
            insert into app_user (external_id, access_token, active, needs_reauthorization)
            values (:externalId, :token, true, false)
            on conflict (external_id) do update
               set access_token = excluded.access_token, active = true,
                   needs_reauthorization = false, updated_at = now()
            returning id
            """)
        .param("externalId", externalId)
        .param("token", cipher.encrypt(accessToken))
        .query(Long.class)
        .single();
  }

  /** Where the user's digest mail goes. */
  public void setEmail(long userId, String email) {
    jdbc.sql("update app_user set email = :email, updated_at = now() where id = :id")
        .param("email", email)
        .param("id", userId)
        .update();
  }

  /** The user's access token in clear, for the platform call only; never log it. */
  public Optional<String> accessToken(long userId) {
    return jdbc.sql("select access_token from app_user where id = :id and access_token is not null")
        .param("id", userId)
        .query((rs, row) -> rs.getBytes(1))
        .optional()
        .map(cipher::decrypt);
  }
}
