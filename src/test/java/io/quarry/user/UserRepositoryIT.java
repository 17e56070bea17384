package io.quarry.user;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quarry.security.TokenCipher;
import io.quarry.support.Csrf;
import io.quarry.support.QuarryIntegrationTest;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;

@QuarryIntegrationTest
class UserRepositoryIT {

  @Autowired UserRepository users;
  @Autowired JdbcClient jdbc;
  @LocalServerPort int port;

  @Test
  void anAdminRegistersAUserWhoseTokenIsStoredEncryptedAndNeverReturned() {
    String body =
        "{\"externalId\":\"api-1\",\"accessToken\":\"EAAB-api-token\",\"email\":\"a@example.com\"}";
    assertThat(Csrf.post(port, "/api/users", "viewer", "test-viewer-password", body).statusCode())
        .isEqualTo(403);

    var created = Csrf.post(port, "/api/users", "admin", "test-admin-password", body);

    assertThat(created.statusCode()).isEqualTo(201);
    assertThat(created.body())
        .contains("\"externalId\":\"api-1\"")
        .doesNotContain("EAAB-api-token");
    long id =
        jdbc.sql("select id from app_user where external_id = 'api-1'").query(Long.class).single();
    assertThat(users.accessToken(id)).contains("EAAB-api-token");
    assertThat(jdbc.sql("select email from app_user where id = " + id).query(String.class).single())
        .isEqualTo("a@example.com");
    assertThat(
            Csrf.post(port, "/api/users", "admin", "test-admin-password", "{\"externalId\":\"\"}")
                .statusCode())
        .isEqualTo(400);
  }

  @Test
  void storesTheAccessTokenEncryptedAndReadsItBack() {
    long id = users.upsert("ext-42", "EAAB-live-token");

    byte[] stored =
        jdbc.sql("select access_token from app_user where id = :id")
            .param("id", id)
            .query(byte[].class)
            .single();
    assertThat(new String(stored, StandardCharsets.ISO_8859_1)).doesNotContain("EAAB-live-token");
    assertThat(users.accessToken(id)).contains("EAAB-live-token");
  }

  @Test
  void upsertReplacesTheTokenOfAnExistingUser() {
    long first = users.upsert("ext-7", "old-token");
    long second = users.upsert("ext-7", "new-token");
    assertThat(second).isEqualTo(first);
    assertThat(users.accessToken(first)).contains("new-token");
  }

  @Test
  void aTamperedTokenIsRefusedNotReturned() {
    long id = users.upsert("ext-9", "token-9");
    jdbc.sql(
            "update app_user set access_token = overlay(access_token placing '\\x00'::bytea from 20 for 1) where id = :id")
        .param("id", id)
        .update();
    assertThatThrownBy(() -> users.accessToken(id))
        .isInstanceOf(TokenCipher.TokenDecryptionException.class);
  }
}
