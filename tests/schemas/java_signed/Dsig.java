import javax.xml.crypto.*;
import javax.xml.crypto.dsig.*;
import javax.xml.crypto.dsig.dom.*;
import javax.xml.crypto.dsig.keyinfo.*;
import javax.xml.crypto.dsig.spec.*;
import javax.xml.parsers.*;
import javax.xml.transform.*;
import javax.xml.transform.dom.*;
import javax.xml.transform.stream.*;
import org.w3c.dom.*;
import java.io.*;
import java.nio.file.*;
import java.security.*;
import java.security.cert.*;
import java.security.spec.*;
import java.util.*;

public class Dsig {
    static final String DS = XMLSignature.XMLNS;
    static final String EDXML = "http://www.mic.gov.vn/TBT/QCVN_102_2016";

    static Document parse(String f) throws Exception {
        DocumentBuilderFactory dbf = DocumentBuilderFactory.newInstance();
        dbf.setNamespaceAware(true);
        return dbf.newDocumentBuilder().parse(new File(f));
    }

    public static void main(String[] a) throws Exception {
        if (a[0].equals("verify")) verify(a[1]);
        else sign(a);
    }

    static void verify(String f) throws Exception {
        Document doc = parse(f);
        NodeList nl = doc.getElementsByTagNameNS(DS, "Signature");
        XMLSignatureFactory fac = XMLSignatureFactory.getInstance("DOM");
        DOMValidateContext ctx = new DOMValidateContext(new KeySelector() {
            public KeySelectorResult select(KeyInfo ki, KeySelector.Purpose p, AlgorithmMethod m, XMLCryptoContext c) throws KeySelectorException {
                for (Object o : ki.getContent()) if (o instanceof X509Data)
                    for (Object x : ((X509Data) o).getContent()) if (x instanceof X509Certificate) {
                        final PublicKey k = ((X509Certificate) x).getPublicKey();
                        return () -> k;
                    }
                throw new KeySelectorException("no cert");
            }
        }, nl.item(0));
        ctx.setProperty("javax.xml.crypto.dsig.cacheReference", Boolean.TRUE);
        XMLSignature sig = fac.unmarshalXMLSignature(ctx);
        boolean ok = sig.validate(ctx);
        System.out.println("java core validity: " + ok + "  signatureValue: " + sig.getSignatureValue().validate(ctx));
        if (System.getenv("DUMP") != null) {
            InputStream is = sig.getSignedInfo().getCanonicalizedData();
            System.out.println("SIGNEDINFO-C14N:" + new String(is.readAllBytes(), "UTF-8"));
        }
        for (Object r : sig.getSignedInfo().getReferences()) {
            Reference ref = (Reference) r;
            System.out.println("  reference valid: " + ref.validate(ctx));
        }
    }

    // sign <in> <out> <key.der> <cert.der> <rsa|ec> <SignedInfo c14n uri> <transform uris comma-separated>
    static void sign(String[] a) throws Exception {
        Document doc = parse(a[1]);
        byte[] kb = Files.readAllBytes(Paths.get(a[3]));
        PrivateKey key = KeyFactory.getInstance(a[5].equals("rsa") ? "RSA" : "EC").generatePrivate(new PKCS8EncodedKeySpec(kb));
        X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new FileInputStream(a[4]));
        XMLSignatureFactory fac = XMLSignatureFactory.getInstance("DOM");
        List<Transform> ts = new ArrayList<>();
        for (String t : a[7].split(",")) {
            TransformParameterSpec spec = null;
            String[] parts = t.split("\\|");
            if (parts.length > 1) spec = new ExcC14NParameterSpec(Arrays.asList(parts[1].split(" ")));
            ts.add(fac.newTransform(parts[0], spec));
        }
        Reference ref = fac.newReference("", fac.newDigestMethod(DigestMethod.SHA256, null), ts, null, null);
        String sm = a.length > 8 ? a[8] : a[5].equals("rsa") ? "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" : "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
        String[] cp = a[6].split("\\|");
        C14NMethodParameterSpec cspec = cp.length > 1 ? new ExcC14NParameterSpec(Arrays.asList(cp[1].split(" "))) : null;
        SignedInfo si = fac.newSignedInfo(fac.newCanonicalizationMethod(cp[0], cspec),
            fac.newSignatureMethod(sm, null), Collections.singletonList(ref));
        KeyInfoFactory kif = fac.getKeyInfoFactory();
        KeyInfo ki = kif.newKeyInfo(Collections.singletonList(kif.newX509Data(Collections.singletonList(cert))));
        Element header = (Element) doc.getElementsByTagNameNS(EDXML, "edXMLHeader").item(0);
        DOMSignContext dsc = new DOMSignContext(key, header);
        if (System.getenv("NOPREFIX") == null) dsc.setDefaultNamespacePrefix("ds");
        fac.newXMLSignature(si, ki).sign(dsc);
        TransformerFactory.newInstance().newTransformer().transform(new DOMSource(doc), new StreamResult(new File(a[2])));
        System.out.println("java signed " + a[2]);
    }
}
