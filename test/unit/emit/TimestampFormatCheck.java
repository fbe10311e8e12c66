// Parses each line of stdin with a java.time pattern set up as ksqlDB 0.29 sets up
// TIMESTAMP_FORMAT (ksqldb-common/.../util/timestamp/StringToTimestampParser.java: a
// DateTimeFormatterBuilder, parseCaseInsensitive, appendPattern, Locale.ROOT; a text without a
// zone is read in the server's zone: UTC here). Prints epoch milliseconds, or ERR.
// Run by test/unit/emit/ksql-timestamp.test.ts with `java TimestampFormatCheck.java PATTERN`.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.temporal.ChronoField;
import java.time.temporal.TemporalAccessor;
import java.time.temporal.TemporalQueries;
import java.util.Locale;

public class TimestampFormatCheck {
  public static void main(String[] args) throws Exception {
    DateTimeFormatter f = new DateTimeFormatterBuilder().parseCaseInsensitive().appendPattern(args[0]).toFormatter(Locale.ROOT);
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      try {
        TemporalAccessor p = f.parse(line);
        ZoneId zone = p.query(TemporalQueries.zone());
        LocalDateTime t = LocalDateTime.of(
            p.get(ChronoField.YEAR), p.get(ChronoField.MONTH_OF_YEAR), p.get(ChronoField.DAY_OF_MONTH),
            p.get(ChronoField.HOUR_OF_DAY), p.get(ChronoField.MINUTE_OF_HOUR),
            p.isSupported(ChronoField.SECOND_OF_MINUTE) ? p.get(ChronoField.SECOND_OF_MINUTE) : 0,
            p.isSupported(ChronoField.NANO_OF_SECOND) ? p.get(ChronoField.NANO_OF_SECOND) : 0);
        System.out.println(t.atZone(zone == null ? ZoneOffset.UTC : zone).toInstant().toEpochMilli());
      } catch (Exception e) {
        System.out.println("ERR");
      }
    }
  }
}
