// Evaluates a regular expression the way API Gateway does, with
// java.util.regex, for TestValidationExpressionMeansTheSameInJava.
// Arguments: the expression. Standard input: one header per line, as hex of
// its UTF-8 bytes. Standard output: per header, "find matches" as 0 or 1
// (API Gateway does not document which of the two it calls; anchored
// expressions must give the same answer for both).
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.regex.Pattern;

public class ValidationExpressionInJava {
    public static void main(String[] args) throws Exception {
        Pattern pattern = Pattern.compile(args[0]);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        StringBuilder out = new StringBuilder();
        for (String line; (line = in.readLine()) != null; ) {
            String header = new String(HexFormat.of().parseHex(line), StandardCharsets.UTF_8);
            out.append(pattern.matcher(header).find() ? '1' : '0')
               .append(' ')
               .append(pattern.matcher(header).matches() ? '1' : '0')
               .append('\n');
        }
        System.out.print(out);
    }
}
