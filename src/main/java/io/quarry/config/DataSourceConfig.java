package io.quarry.config;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.springframework.boot.autoconfigure.flyway.FlywayConfigurationCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The PostgreSQL pool and Flyway's schema, both from {@code quarry.database}. */
@Configuration(proxyBeanMethods = false)
public class DataSourceConfig {

  @Bean(destroyMethod = "close")
  public HikariDataSource dataSource(QuarryProperties properties) {
    QuarryProperties.Database db = properties.database();
    HikariConfig config = new HikariConfig();
    config.setPoolName("quarry-db");
    config.setJdbcUrl("jdbc:postgresql://" + db.host() + ":" + db.port() + "/" + db.name());
    config.setUsername(db.username());
    config.setPassword(db.password());
    config.setSchema(db.schema());
    config.setMaximumPoolSize(db.poolSize());
    config.setConnectionTimeout(db.connectTimeout().toMillis());
    config.setValidationTimeout(Math.min(db.connectTimeout().toMillis(), 5_000));
    config.setInitializationFailTimeout(db.connectTimeout().toMillis());
    config.addDataSourceProperty("ApplicationName", "quarry-" + properties.environment());
    config.addDataSourceProperty("sslmode", db.tls() ? "verify-full" : "disable");
    config.addDataSourceProperty("connectTimeout", Math.max(1, db.connectTimeout().toSeconds()));
    config.addDataSourceProperty("reWriteBatchedInserts", true);
    return new HikariDataSource(config);
  }

  @Bean
  FlywayConfigurationCustomizer quarrySchema(QuarryProperties properties) {
    String schema = properties.database().schema();
    return flyway -> flyway.schemas(schema).defaultSchema(schema).createSchemas(true);
  }
}
